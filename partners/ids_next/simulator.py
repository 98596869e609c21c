"""The IDS Next simulator: the partner's side of the OTA 2003/05 wire, on the stdlib.

``POST /{RootElementName}`` takes an OTA request (``X-API-Key``/``X-API-Secret``
headers) and answers the matching ``*_RS``, built with :mod:`pema.ota`, from
and into its own SQLite state (:mod:`partners.ids_next.simulator_state`).

Behaviour worth knowing when writing tests against it:

- bad credentials: ``Errors`` with EWT 4; unknown hotel code: ERR 392; an
  unknown room type code anywhere in a message: ERR 402 (EWT 3) and nothing
  of that message is applied; unknown booking reference: ERR 97;
- Commit of a confirmation number it already holds returns the existing
  reference (``ResResponseType="Committed"``), never a second reservation;
  Commit never refuses for lack of rooms: like a PMS fed by a channel
  manager, it records what the hotel sold (use the ``error`` fault to have
  it answer ERR 322);
- Modify of a cancelled reservation: ERR 95; cancelling twice: ``Success``
  with ``Status="Cancelled"``, the original cancellation number and a
  ``Warning`` carrying ERR 95, so a retried cancel is not an error;
- a reservation is stored with one room row per RoomStay (room type, rate
  plan, dates, NumberOfUnits, guests, total, nightly rates), shown as its
  ``rooms`` list in ``/_control/state``; a mixed reservation holds rooms of
  each of its types;
- availability for a stay = min over its nights of (BookingLimit sent for
  that night, 0 if none, 0 under room-level stop sell) minus the rooms of
  that type the active reservations' RoomStays hold on that night; rate plans are offered when they
  are priced on every night and not stop-sold; a night's price is the base
  amount plus the extra-adult amount per adult beyond two plus the
  extra-child amount per child, and ``Total`` is the nightly sum x rooms;
- it runs on the sandbox harness (:mod:`sandbox.server`) as the partner
  ``ids_next`` whose paths are also the root ones: ``/OTA_PingRQ`` and
  ``/ids_next/OTA_PingRQ`` are the same call, ``/_control/faults`` and
  ``/_control/ids_next/faults`` the same faults;
- faults (``POST /_control/faults``) are kept in memory only: a restart
  clears them, the state file survives. They never apply to ``/_control/``;
- a body is framed by a plain decimal ``Content-Length`` only: a negative,
  non-numeric or conflicting one is a 400, a chunked body a 411, and the
  connection is closed; a message over 2 MB is answered with an error without
  being read, and a client silent for 30 s is hung up on.
"""

from __future__ import annotations

import hmac
import os
from argparse import ArgumentParser
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from partners.ids_next.simulator_state import STATUS_CANCELLED, SandboxState, days
from pema import ota
from pema.ota import OTAError, OTAResponse
from pema.xml import MAX_XML_BYTES, XMLError, parse_xml
from sandbox.server import make_server as make_harness_server
from sandbox.simulator import Request, Response, Simulator, SimulatorContext

DEFAULT_HOTEL_CODE = "PEMA001"
DEFAULT_ROOM_TYPES = ("EXT", "EXQ", "SUI", "PES", "STT", "STQ", "PBT", "PBQ", "PGT", "PEV")
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"


class SandboxFault(Exception):
    """A business error to answer with ``Errors`` (EWT ``type``, ERR ``code``)."""

    def __init__(self, type: int, code: int | None, text: str) -> None:  # noqa: A002
        super().__init__(text)
        self.error = OTAError(type=type, code=code, text=text)


@dataclass
class SandboxConfig:
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 8100
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    hotel_code: str = DEFAULT_HOTEL_CODE
    room_types: tuple[str, ...] = DEFAULT_ROOM_TYPES


Handler = Callable[[Any], Any]


class IDSNextSandbox:
    """The simulator's logic, independent of HTTP (the handler below is thin)."""

    def __init__(
        self,
        config: SandboxConfig,
        forced_error: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.config = config
        self.state = SandboxState(config.state_dir)
        # The ``error`` fault: answer every OTA call with this error while it is set.
        self.forced_error = forced_error
        # Request root -> (parser, response builder, handler returning the RS data).
        self.kinds: dict[str, tuple[Callable, Callable, Handler]] = {
            ota.PING_RQ: (ota.parse_ping_rq, ota.build_ping_rs, self.on_ping),
            ota.HOTEL_AVAIL_RQ: (
                ota.parse_hotel_avail_rq,
                ota.build_hotel_avail_rs,
                self.on_hotel_avail,
            ),
            ota.AVAIL_NOTIF_RQ: (
                ota.parse_hotel_avail_notif_rq,
                ota.build_hotel_avail_notif_rs,
                self.on_avail_notif,
            ),
            ota.RATE_AMOUNT_NOTIF_RQ: (
                ota.parse_hotel_rate_amount_notif_rq,
                ota.build_hotel_rate_amount_notif_rs,
                self.on_rate_amount_notif,
            ),
            ota.RES_NOTIF_RQ: (
                ota.parse_hotel_res_notif_rq,
                ota.build_hotel_res_notif_rs,
                self.on_res_notif,
            ),
            ota.CANCEL_RQ: (ota.parse_cancel_rq, ota.build_cancel_rs, self.on_cancel),
        }

    # ------------------------------------------------------------------ entry

    def handle(self, name: str, body: bytes, api_key: str, api_secret: str) -> bytes:
        """Answer one OTA request ``name`` (already known to be in :attr:`kinds`)."""
        parse, build, handler = self.kinds[name]
        echo_token = None
        try:
            # Read the EchoToken first so even a request we reject can echo it.
            echo_token = parse_xml(body).get("EchoToken")
            request = parse(body)
        except (XMLError, ota.OTAParseError) as exc:
            self.state.record_message(name, echo_token)
            return build(_failure(echo_token, ota.EWT_PROCESSING_EXCEPTION, None, str(exc)))
        self.state.record_message(name, echo_token)
        if not (
            hmac.compare_digest(api_key.encode(), self.config.api_key.encode())
            and hmac.compare_digest(api_secret.encode(), self.config.api_secret.encode())
        ):
            return build(_failure(echo_token, ota.EWT_AUTHENTICATION, None, "Invalid credentials"))
        forced = self.forced_error()
        if forced:
            return build(
                _failure(
                    echo_token,
                    int(forced.get("type", ota.EWT_APPLICATION_ERROR)),
                    forced.get("code"),
                    str(forced.get("text") or "Forced error (sandbox fault)"),
                )
            )
        try:
            data, warnings = handler(request)
        except SandboxFault as fault:
            return build(OTAResponse(success=False, echo_token=echo_token, errors=(fault.error,)))
        except Exception as exc:  # noqa: BLE001 - a real PMS answers ERR 448, it does not hang up
            return build(
                _failure(echo_token, ota.EWT_APPLICATION_ERROR, ota.ERR_SYSTEM_ERROR, repr(exc))
            )
        return build(OTAResponse(success=True, echo_token=echo_token, data=data, warnings=warnings))

    # ------------------------------------------------------------- validation

    def _check_hotel(self, hotel_code: str | None) -> None:
        if hotel_code != self.config.hotel_code:
            raise SandboxFault(
                ota.EWT_BUSINESS_RULE,
                ota.ERR_INVALID_HOTEL_CODE,
                f"Invalid hotel code {hotel_code}",
            )

    def _check_room_types(self, codes: list[str | None]) -> None:
        unknown = sorted({c for c in codes if c and c not in self.config.room_types})
        if unknown:
            raise SandboxFault(
                ota.EWT_BUSINESS_RULE,
                ota.ERR_INVALID_ROOM_TYPE,
                f"Invalid room type code(s): {', '.join(unknown)}",
            )

    def _room_types_for(self, code: str | None) -> tuple[str, ...]:
        # No InvTypeCode: the message applies to the whole hotel (as OTA allows).
        return (code,) if code else self.config.room_types

    # --------------------------------------------------------------- handlers

    def on_ping(self, rq: ota.PingRQ) -> tuple[str, tuple]:
        return rq.echo_data, ()

    def on_hotel_avail(self, rq: ota.HotelAvailRQ) -> tuple[ota.HotelAvailResult, tuple]:
        self._check_hotel(rq.hotel_code)
        self._check_room_types([rq.room_type_code])
        if rq.end <= rq.start:
            raise SandboxFault(ota.EWT_BUSINESS_RULE, None, "End must be after Start")
        stays = []
        for room_type in self._room_types_for(rq.room_type_code):
            units = self.state.availability(room_type, rq.start, rq.end)
            stopped = self.state.stopped_rate_plans(room_type, rq.start, rq.end)
            priced = self.state.nightly_rates(room_type, rq.start, rq.end, rq.rate_plan_code)
            offers = {plan: rows for plan, rows in priced.items() if plan not in stopped}
            if not offers:
                stays.append(ota.AvailRoomStay(room_type_code=room_type, units_available=units))
                continue
            for plan, rows in offers.items():
                rates = []
                for row in rows:
                    night = date.fromisoformat(row["day"])
                    amount = (
                        row["amount"]
                        + (row["extra_adult"] or 0) * max(rq.adults - 2, 0)
                        + (row["extra_child"] or 0) * rq.children
                    )
                    rates.append(
                        ota.AvailRate(
                            effective_date=night,
                            expire_date=night + timedelta(days=1),
                            amount=amount,
                        )
                    )
                stays.append(
                    ota.AvailRoomStay(
                        room_type_code=room_type,
                        units_available=units,
                        rate_plan_code=plan,
                        currency=rows[0]["currency"],
                        rates=tuple(rates),
                        total=sum(r.amount for r in rates) * rq.rooms,
                    )
                )
        return ota.HotelAvailResult(room_stays=tuple(stays)), ()

    def on_avail_notif(self, rq: ota.HotelAvailNotifRQ) -> tuple[None, tuple]:
        self._check_hotel(rq.hotel_code)
        self._check_room_types([m.inv_type_code for m in rq.messages])
        with self.state.transaction() as db:
            for msg in rq.messages:
                if msg.start is None:
                    raise SandboxFault(
                        ota.EWT_REQUIRED_FIELD_MISSING, None, "StatusApplicationControl@Start"
                    )
                restriction_values = _restriction_values(msg)
                for room_type in self._room_types_for(msg.inv_type_code):
                    for day in days(msg.start, msg.end or msg.start):
                        if not msg.days.applies_to(day):
                            continue
                        if msg.booking_limit is not None:
                            self.state.set_booking_limit(db, room_type, day, msg.booking_limit)
                        if restriction_values:
                            self.state.set_restriction(
                                db, room_type, msg.rate_plan_code or "", day, **restriction_values
                            )
        return None, ()

    def on_rate_amount_notif(self, rq: ota.HotelRateAmountNotifRQ) -> tuple[None, tuple]:
        self._check_hotel(rq.hotel_code)
        self._check_room_types([m.inv_type_code for m in rq.messages])
        with self.state.transaction() as db:
            for msg in rq.messages:
                if not msg.rate_plan_code:
                    raise SandboxFault(
                        ota.EWT_BUSINESS_RULE, ota.ERR_INVALID_RATE_CODE, "RatePlanCode missing"
                    )
                for rate in msg.rates:
                    start, end = rate.start or msg.start, rate.end or msg.end or msg.start
                    amount = rate.amount_after_tax
                    if amount is None and rate.base_by_guest:
                        amount = rate.base_by_guest[0].amount_before_tax
                    if start is None or end is None or amount is None:
                        raise SandboxFault(
                            ota.EWT_REQUIRED_FIELD_MISSING, None, "Rate dates or amount missing"
                        )
                    for room_type in self._room_types_for(msg.inv_type_code):
                        for day in days(start, end):
                            if msg.days.applies_to(day):
                                self.state.set_rate(
                                    db,
                                    msg.rate_plan_code,
                                    room_type,
                                    day,
                                    amount,
                                    rate.currency or "INR",
                                    rate.additional(ota.AQC_ADULT),
                                    rate.additional(ota.AQC_CHILD),
                                )
        return None, ()

    def on_res_notif(self, rq: ota.HotelResNotifRQ) -> tuple[ota.ResNotifResult, tuple]:
        self._check_hotel(rq.hotel_code)
        self._check_room_types([stay.room_type_code for stay in rq.room_stays])
        missing = [
            label
            for label, value in (
                ("HotelReservationID ResID_Type=40", rq.confirmation_number),
                ("RoomTypeCode", all(stay.room_type_code for stay in rq.room_stays)),
                ("TimeSpan@Start", all(stay.start for stay in rq.room_stays)),
                ("TimeSpan@End", all(stay.end for stay in rq.room_stays)),
            )
            if not value
        ]
        if missing:
            raise SandboxFault(ota.EWT_REQUIRED_FIELD_MISSING, None, ", ".join(missing))
        if any(stay.end <= stay.start for stay in rq.room_stays):
            raise SandboxFault(ota.EWT_BUSINESS_RULE, None, "TimeSpan@End must be after Start")
        values = {
            "confirmation_number": rq.confirmation_number,
            "hotel_code": rq.hotel_code,
            "room_type": rq.room_type_code,
            "rate_plan": rq.rate_plan_code,
            "arrival": rq.start.isoformat(),
            "departure": rq.end.isoformat(),
            "rooms": rq.rooms,
            "adults": rq.adults,
            "children": rq.children,
            "guest": asdict(rq.guest) if rq.guest else {},
            "special_requests": rq.special_requests,
            "total": rq.total,
            "currency": rq.currency,
            "room_stays": [
                {
                    "room_type": stay.room_type_code,
                    "rate_plan": stay.rate_plan_code,
                    "arrival": stay.start.isoformat(),
                    "departure": stay.end.isoformat(),
                    "units": stay.units,
                    "adults": stay.adults,
                    "children": stay.children,
                    "total": stay.total,
                    "rates": [
                        {"night": rate.night.isoformat(), "amount": rate.amount}
                        for rate in stay.rates
                    ],
                }
                for stay in rq.room_stays
            ],
        }
        status = rq.res_status or ota.RES_STATUS_COMMIT
        if status == ota.RES_STATUS_COMMIT:
            reservation, _created = self.state.create_reservation(values)
            response_type = "Committed"
        elif status == ota.RES_STATUS_MODIFY:
            existing = self.state.find_reservation(
                reference=rq.pms_reference, confirmation_number=rq.confirmation_number
            )
            if existing is None:
                raise SandboxFault(
                    ota.EWT_BUSINESS_RULE,
                    ota.ERR_BOOKING_REFERENCE_NOT_FOUND,
                    "Reservation not found",
                )
            if existing["status"] == STATUS_CANCELLED:
                raise SandboxFault(
                    ota.EWT_BUSINESS_RULE,
                    ota.ERR_BOOKING_ALREADY_CANCELLED,
                    f"Reservation {existing['reference']} is cancelled",
                )
            reservation = self.state.modify_reservation(existing["id"], values)
            response_type = "Modified"
        else:
            raise SandboxFault(ota.EWT_BUSINESS_RULE, None, f"Unsupported ResStatus {status}")
        return (
            ota.ResNotifResult(
                pms_reference=reservation["reference"],
                confirmation_number=reservation["confirmation_number"],
                res_response_type=response_type,
            ),
            (),
        )

    def on_cancel(self, rq: ota.CancelRQ) -> tuple[ota.CancelResult, tuple]:
        existing = self.state.find_reservation(reference=rq.pms_reference)
        if existing is None:
            raise SandboxFault(
                ota.EWT_BUSINESS_RULE,
                ota.ERR_BOOKING_REFERENCE_NOT_FOUND,
                f"Reservation {rq.pms_reference} not found",
            )
        warnings: tuple[OTAError, ...] = ()
        if existing["status"] == STATUS_CANCELLED:
            # Success plus a warning: a retried cancel must not look like a failure.
            warnings = (
                OTAError(
                    type=ota.EWT_BUSINESS_RULE,
                    code=ota.ERR_BOOKING_ALREADY_CANCELLED,
                    text="Reservation already cancelled",
                ),
            )
            reservation = existing
        else:
            reservation = self.state.cancel_reservation(existing["id"])
        return (
            ota.CancelResult(
                status=ota.CANCEL_STATUS_CANCELLED,
                pms_reference=reservation["reference"],
                cancellation_number=reservation["cancellation_number"],
            ),
            warnings,
        )


def _restriction_values(msg: ota.AvailStatusMessage) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if msg.restriction is not None:
        closed = int(msg.restriction.closed)
        kind = msg.restriction.restriction or ota.RESTRICTION_MASTER
        column = {
            ota.RESTRICTION_MASTER: "stop_sell",
            ota.RESTRICTION_ARRIVAL: "closed_to_arrival",
            ota.RESTRICTION_DEPARTURE: "closed_to_departure",
        }.get(kind)
        if column:
            values[column] = closed
    for los in msg.lengths_of_stay:
        if los.min_max_message_type == ota.SET_MIN_LOS:
            # ArrivalDateBased absent: OTA's default reading is "from arrival".
            through = msg.arrival_date_based is False
            values["min_stay_through" if through else "min_stay_arrival"] = los.time
        elif los.min_max_message_type == ota.SET_MAX_LOS:
            values["max_stay"] = los.time
        elif los.min_max_message_type == ota.REMOVE_MAX_LOS:
            values["max_stay"] = None
    return values


def _failure(echo_token: str | None, type: int, code: int | None, text: str) -> OTAResponse:  # noqa: A002
    return OTAResponse(
        success=False, echo_token=echo_token, errors=(OTAError(type=type, code=code, text=text),)
    )


# ------------------------------------------------------------------- HTTP layer

CONTROL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IDS Next sandbox</title>
<style>
 body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}
 pre{background:#f4f4f4;padding:1rem;overflow:auto;max-height:40rem}
 label{margin-right:1rem}
</style></head><body>
<h1>IDS Next sandbox</h1>
<p>Hotel <code>__HOTEL__</code>; room types <code>__ROOMS__</code>.
OTA messages: <code>POST /OTA_PingRQ</code>, <code>/OTA_HotelAvailRQ</code>,
<code>/OTA_HotelAvailNotifRQ</code>, <code>/OTA_HotelRateAmountNotifRQ</code>,
<code>/OTA_HotelResNotifRQ</code>, <code>/OTA_CancelRQ</code>.</p>
<h2>Faults</h2>
<form id="faults">
 <label><input type="checkbox" name="down"> down</label>
 <label><input type="checkbox" name="malformed"> malformed</label>
 <label><input type="checkbox" name="truncate"> truncate</label>
 <label>slow ms <input type="number" name="slow_ms" min="0" value="0"></label>
 <label>drip ms <input type="number" name="drip_ms" min="0" value="0"></label>
 <label>fail % <input type="number" name="fail_percent" min="0" max="100" value="0"></label>
 <button type="submit">Apply</button>
 <button type="button" id="reset">Reset state</button>
</form>
<h2>State</h2><pre id="state">loading...</pre>
<script>
async function refresh(){
  const [s,f]=await Promise.all([fetch('state'),fetch('faults')]);
  document.getElementById('state').textContent=JSON.stringify(await s.json(),null,2);
  const faults=await f.json(), form=document.getElementById('faults');
  form.down.checked=faults.down; form.malformed.checked=faults.malformed;
  form.truncate.checked=faults.truncate;
  form.slow_ms.value=faults.slow_ms; form.fail_percent.value=faults.fail_percent;
  form.drip_ms.value=faults.drip_ms;
}
document.getElementById('faults').onsubmit=async e=>{
  e.preventDefault(); const f=e.target;
  await fetch('faults',{method:'POST',headers:{'Content-Type':'application/json'},
    body:JSON.stringify({down:f.down.checked,malformed:f.malformed.checked,
      truncate:f.truncate.checked,
      slow_ms:+f.slow_ms.value,drip_ms:+f.drip_ms.value,fail_percent:+f.fail_percent.value})});
  refresh();
};
document.getElementById('reset').onclick=async()=>{
  if(confirm('Wipe all sandbox state?')){await fetch('reset',{method:'POST'});refresh();}
};
refresh();
</script></body></html>
"""

# A 200 with a body that is not a complete XML document.
MALFORMED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<OTA_HotelAvailNotifRS xmlns="http://www.op'
)


class IDSNextSimulator(Simulator):
    """The IDS Next sandbox on the harness: ``POST /<RootElementName>``, answered by
    :class:`IDSNextSandbox`; faults and control come from the harness."""

    title = "IDS Next"
    max_body_bytes = MAX_XML_BYTES
    serves_root = True

    def __init__(self, context: SimulatorContext, config: SandboxConfig | None = None) -> None:
        super().__init__(context)
        self.sandbox = IDSNextSandbox(
            config or SandboxConfig(state_dir=context.state_dir),
            forced_error=lambda: context.faults().get("error"),
        )

    @classmethod
    def add_arguments(cls, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--api-key",
            default=os.environ.get("IDS_SANDBOX_API_KEY", DEFAULT_API_KEY),
            help="The X-API-Key the IDS Next simulator accepts.",
        )
        parser.add_argument(
            "--api-secret",
            default=os.environ.get("IDS_SANDBOX_API_SECRET", DEFAULT_API_SECRET),
            help="The X-API-Secret the IDS Next simulator accepts.",
        )
        parser.add_argument(
            "--hotel-code", default=DEFAULT_HOTEL_CODE, help="The IDS Next simulator's hotel code."
        )
        parser.add_argument(
            "--room-types",
            default=",".join(DEFAULT_ROOM_TYPES),
            help="Comma-separated room type codes the IDS Next simulator knows.",
        )

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any]
    ) -> Callable[[SimulatorContext], IDSNextSimulator]:
        room_types = tuple(c.strip() for c in str(options["room_types"]).split(",") if c.strip())

        def make(context: SimulatorContext) -> IDSNextSimulator:
            config = SandboxConfig(
                state_dir=context.state_dir,
                api_key=str(options["api_key"]),
                api_secret=str(options["api_secret"]),
                hotel_code=str(options["hotel_code"]),
                room_types=room_types,
            )
            return cls(context, config)

        return make

    def describe(self) -> str:
        config = self.sandbox.config
        return f"hotel {config.hotel_code}; also at the root paths: /OTA_*RQ, /_control/faults"

    def _name(self, request: Request) -> str | None:
        name = request.path.strip("/")
        return name if request.method == "POST" and name in self.sandbox.kinds else None

    def handle(self, request: Request) -> Response:
        name = self._name(request)
        if name is None:
            return Response(
                status=404,
                body=f"unknown message {request.path.strip('/')}\n".encode(),
                content_type="text/plain; charset=utf-8",
            )
        body = self.sandbox.handle(
            name, request.body, request.header("X-API-Key"), request.header("X-API-Secret")
        )
        return Response(body=body, content_type="text/xml; charset=utf-8")

    def too_large_response(self, request: Request) -> Response:
        name = self._name(request)
        if name is None:
            return self.handle(request)
        build = self.sandbox.kinds[name][1]
        failure = _failure(None, ota.EWT_PROCESSING_EXCEPTION, None, "Message too large")
        return Response(body=build(failure), content_type="text/xml; charset=utf-8")

    def malformed_response(self) -> Response:
        return Response(body=MALFORMED_BODY, content_type="text/xml; charset=utf-8")

    def snapshot(self) -> dict[str, Any]:
        return self.sandbox.state.snapshot()

    def reset(self) -> None:
        self.sandbox.state.reset()

    def control_page(self) -> str:
        return CONTROL_PAGE.replace("__HOTEL__", self.sandbox.config.hotel_code).replace(
            "__ROOMS__", " ".join(self.sandbox.config.room_types)
        )


#: The IDS Next sandbox's name on the harness (and the partner its root paths belong to).
PARTNER = "ids_next"


def make_server(config: SandboxConfig) -> ThreadingHTTPServer:
    """The IDS Next sandbox alone, at its root paths (call ``serve_forever()``)."""
    return make_harness_server(
        {PARTNER: partial(IDSNextSimulator, config=config)},
        state_dir=config.state_dir,
        host=config.host,
        port=config.port,
        root=PARTNER,
    )
