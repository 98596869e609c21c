"""What Booking.com checks, as pure functions: the simulator is a thin layer over these.

They follow ``ota-channels.md`` §1.9 ("What a Booking.com simulator must
check"), ARI points 1-14 and the acknowledgement rules (reservations point 4),
plus the host and polling checks of reservations points 1 and 3. Each returns
Booking's codes (:mod:`partners.booking_com.codec` ``ERROR_CODES`` and
``WARNING_CODES``) and the HTTP status Booking would answer with; nothing here
keeps state or does I/O. The simulator keeps the state (a mapping of
:data:`Key` to :class:`DayState`, the reservation queue) and writes back the
updates these functions return.

Where Booking's pages are silent the choices are the simulator's and are
listed in the README ("Simulator assumptions").
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from lxml import etree

from partners.booking_com import codec, reservations
from partners.booking_com.codec import (
    ACCEPT_VERSIONS,
    AVAIL_NOTIF,
    AVAIL_NOTIF_RS,
    RATE_AMOUNT_NOTIF,
    RATE_AMOUNT_NOTIF_RS,
    RES_MODIFY_NOTIF,
    RES_NOTIF,
    ROOTS,
    TARGET_PRODUCTION,
    TARGET_TEST,
    TARGETS,
    AvailMessage,
    BookingIssue,
    RateMessage,
    issue,
)
from pema import money
from pema.ota.ari import (
    REMOVE_MAX_LOS,
    RESTRICTION_ARRIVAL,
    RESTRICTION_DEPARTURE,
    RESTRICTION_MASTER,
    SET_MAX_LOS,
    SET_MIN_LOS,
    STATUS_CLOSE,
    STATUS_OPEN,
)
from pema.ota.common import OTA_NS, OTAParseError, find, ota, read_datetime
from pema.ota.schemas import RootSchema
from pema.xml import XMLError, local_name, parse_xml

#: Booking's tokens expire after an hour, and one account may create 30 an hour.
TOKEN_LIFETIME = timedelta(hours=1)
TOKENS_PER_HOUR = 30
#: The horizon the simulator models (Booking publishes none; guests book up to 16 months ahead).
SIMULATOR_HORIZON_DAYS = 500

LOS_TYPES = frozenset({SET_MIN_LOS, SET_MAX_LOS, "RemoveMinLOS", REMOVE_MAX_LOS})
STATUSES = frozenset({STATUS_OPEN, STATUS_CLOSE})
RESTRICTIONS = frozenset({None, RESTRICTION_MASTER, RESTRICTION_ARRIVAL, RESTRICTION_DEPARTURE})

PRICING_STANDARD = "standard"
PRICING_OBP = "obp"

#: Booking's texts for the reservation errors (troubleshooting page).
WRONG_TYPE = "Hotel reservation has transaction message of the wrong type"
ACCESS_DENIED = "Access denied for hotel"
PULL_AGAIN = (
    "Response token '{token}' for hotel reservation '{id}' does not match. please pull again."
)

#: One day of one product: (room id, rate id or None for the room itself, date).
Key = tuple[str, str | None, date]


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """An answer Booking would give: the HTTP status and what it says."""

    http_status: int
    errors: tuple[BookingIssue, ...] = ()
    warnings: tuple[BookingIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return self.http_status < 400


def _refuse(status: int, code: str, text: str = "") -> Verdict:
    return Verdict(http_status=status, errors=(issue(code, text),))


@dataclass(frozen=True, kw_only=True)
class Property:
    """One Booking hotel as the simulator models it.

    ``products`` are ``(room_id, rate_id)`` pairs; a room listed with any rate
    is a room. ``pricing`` gives a room x rate its pricing model (standard
    unless said). ``test`` properties take ``Target="Test"`` only.
    """

    hotel_id: str
    currency: str
    products: frozenset[tuple[str, str]]
    test: bool = False
    pricing: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset(room for room, _ in self.products)

    @property
    def target(self) -> str:
        return TARGET_TEST if self.test else TARGET_PRODUCTION


@dataclass(frozen=True)
class DayState:
    """What the simulator holds for one product on one day (None: never sent)."""

    rooms_to_sell: int | None = None
    closed: bool = False
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    min_stay: int | None = None
    max_stay: int | None = None
    price: int | None = None
    guest_prices: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, kw_only=True)
class AriOutcome:
    """What an ARI request does: Booking's answer and the days it changes.

    At least one message applied: 200, ``Success`` and the failed messages as
    ``NotProcessed`` warnings. None applied: 400 with ``Errors``.
    """

    http_status: int
    errors: tuple[BookingIssue, ...] = ()
    warnings: tuple[BookingIssue, ...] = ()
    updates: dict[Key, DayState] = field(default_factory=dict)
    applied: int = 0

    def body(
        self, endpoint: str, *, ruid: str | None = None, echo_token: str | None = None
    ) -> bytes:
        """Booking's XML answer for this outcome."""
        name = AVAIL_NOTIF_RS if endpoint == AVAIL_NOTIF else RATE_AMOUNT_NOTIF_RS
        if self.http_status >= 400:
            return codec.build_ari_response(
                name, errors=self.errors, ruid=ruid, echo_token=echo_token
            )
        return codec.build_ari_response(
            name, warnings=self.errors + self.warnings, ruid=ruid, echo_token=echo_token
        )


# ------------------------------------------------------------------ 1-2: HTTP and auth


def check_http(
    method: str, headers: Mapping[str, str], *, refuse_version_1_0: bool = False
) -> Verdict | None:
    """ARI point 1: POST, ``Content-Type: application/xml``, ``Accept-Version`` 1.0 or 1.1.

    A missing ``Accept-Version`` means the default, 1.1. ``None`` when all is well.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if method.upper() != "POST":
        return _refuse(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed; use POST.")
    content_type = lower.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/xml", "text/xml"):
        return _refuse(415, "UNSUPPORTED_CONTENT_TYPE", "Content-Type must be application/xml.")
    version = lower.get("accept-version", "").strip()
    if version and version not in ACCEPT_VERSIONS:
        return _refuse(400, "UNSUPPORTED_VERSION", f"Accept-Version {version!r} is not supported.")
    if version == "1.0" and refuse_version_1_0:
        return _refuse(400, "UNSUPPORTED_VERSION", "Not acceptable: version 1.0 is sunset.")
    return None


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic ...`` -> (username, password), None if absent or malformed."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def check_authorization(
    headers: Mapping[str, str],
    *,
    basic: tuple[str, str] | None = None,
    token_is_valid: Callable[[str], bool] | None = None,
) -> Verdict | None:
    """ARI point 2: a machine account's Basic credentials or a live Bearer token.

    Only the header counts: credentials in the body never authenticate.
    Usernames are case-sensitive and must not start with white space, and
    ``+`` is refused in passwords (Booking's Basic rules).
    """
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if value.startswith("Bearer ") and token_is_valid is not None:
        if token_is_valid(value[7:].strip()):
            return None
    elif basic is not None and (given := basic_credentials(value)) is not None:
        username, password = given
        if (
            not username[:1].isspace()
            and "+" not in password
            and hmac.compare_digest(username, basic[0])
            and hmac.compare_digest(password, basic[1])
        ):
            return None
    return Verdict(
        http_status=401, errors=(issue("AUTHORIZATION_REQUIRED", "Authorization Required"),)
    )


def may_issue_token(issued: Sequence[datetime], now: datetime) -> bool:
    """At most :data:`TOKENS_PER_HOUR` tokens in the hour before ``now``."""
    return sum(1 for t in issued if now - t < timedelta(hours=1)) < TOKENS_PER_HOUR


def token_alive(issued_at: datetime, now: datetime) -> bool:
    return now - issued_at < TOKEN_LIFETIME


# -------------------------------------------------------------- 3-5: the document itself


def check_document(
    body: bytes, endpoint: str, *, schema: RootSchema | None = None
) -> tuple[etree._Element | None, Verdict | None]:
    """ARI point 3 (and every request's first check): safe, well-formed, the right root.

    ``schema`` is the endpoint root's :class:`~pema.ota.schemas.RootSchema`, if the
    simulator validates (it should): an invalid document is refused with the
    first few reasons. Returns the root, or the refusal.
    """
    try:
        root = parse_xml(body)
    except XMLError as exc:
        return None, _refuse(400, "XML_SCHEMA_INVALID", str(exc))
    expected = (
        ROOTS[endpoint][0] if endpoint in (AVAIL_NOTIF, RATE_AMOUNT_NOTIF) else ROOTS[endpoint][1]
    )
    if etree.QName(root).namespace != OTA_NS:
        return None, _refuse(400, "XML_SCHEMA_INVALID", f"Namespace must be {OTA_NS}.")
    if local_name(root) != expected:
        return None, _refuse(
            400, "XML_SCHEMA_INVALID", f"{endpoint} takes {expected}, not {local_name(root)}."
        )
    if schema is not None:
        reasons = schema_errors(body, schema)
        if reasons:
            return None, _refuse(400, "XML_SCHEMA_INVALID", "; ".join(reasons[:3]))
    return root, None


def schema_errors(body: bytes, schema: RootSchema) -> list[str]:
    """Why ``body`` is not valid against ``schema``, if it is not."""
    return schema.errors(body)


def check_header(root: etree._Element, prop: Property) -> list[BookingIssue]:
    """ARI point 4: ``TimeStamp`` readable; ``Target`` Production or Test, and the property's."""
    problems = []
    if read_datetime(root.get("TimeStamp")) is None:
        problems.append(
            issue("ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE", "TimeStamp is missing or not a dateTime.")
        )
    target = root.get("Target")
    if target not in TARGETS:
        problems.append(
            issue(
                "ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE",
                f"Target {target!r} is not Production or Test.",
            )
        )
    elif target != prop.target:
        problems.append(issue("TARGET_MISMATCH", f"This property takes Target={prop.target}."))
    return problems


def check_hotel(root: etree._Element, container: str, prop: Property) -> Verdict | None:
    """ARI point 11: one hotel per request, and the one the credentials may update."""
    box = find(root, container)
    code = box.get("HotelCode") if box is not None else None
    if code is not None and code != prop.hotel_id:
        return Verdict(
            http_status=403,
            errors=(issue("HOTEL_ACCESS_DENIED", f"You do not have access to hotel:{code}"),),
        )
    return None


# --------------------------------------------------------------- 6-10, 12: per message


def check_dates(
    msg: AvailMessage | RateMessage, *, today: date, horizon_days: int
) -> BookingIssue | None:
    """ARI point 6: no earlier than yesterday (Booking's CET today), no later than the horizon."""
    record = str(msg.locator_id or "")
    if msg.span.start < today - timedelta(days=1):
        return issue(
            "NOT_A_VALID_DATE",
            f"{msg.span.start} is more than 1 day in the past.",
            record_id=record,
        )
    if msg.span.end > today + timedelta(days=horizon_days - 1):
        return issue(
            "DATES_TOO_FAR_OR_INVALID",
            f"{msg.span.end} is beyond {horizon_days} days.",
            record_id=record,
        )
    return None


def check_product(msg: AvailMessage | RateMessage, prop: Property) -> BookingIssue | None:
    """ARI point 7: the room belongs to the property, the rate (if any) to the room."""
    record = str(msg.locator_id or "")
    if not msg.room_id:
        return issue("ROOM_ID_MISSING", record_id=record)
    if msg.room_id not in prop.rooms:
        return issue("ROOM_ID_INVALID", f"Room ID '{msg.room_id}' is not valid", record_id=record)
    if msg.rate_id and (msg.room_id, msg.rate_id) not in prop.products:
        return issue(
            "RATE_ID_INVALID",
            f"Rate '{msg.rate_id}' is not sold with room '{msg.room_id}'",
            record_id=record,
        )
    return None


def check_avail_message(msg: AvailMessage) -> BookingIssue | None:
    """ARI points 8-10: BookingLimit on rooms only, known LOS types, known statuses."""
    record = str(msg.locator_id or "")
    if msg.booking_limit is not None:
        if msg.booking_limit < 0:
            return issue(
                "ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE",
                "BookingLimit must not be negative.",
                record_id=record,
            )
        if msg.rate_id:
            return issue("BOOKING_LIMIT_ON_RATE_LEVEL", record_id=record)
    for kind, time in msg.lengths_of_stay:
        if kind not in LOS_TYPES:
            return issue(
                "INVALID_LENGTH_OF_STAY",
                f"MinMaxMessageType {kind!r} is not supported.",
                record_id=record,
            )
        if kind.startswith("Set") and (time is None or time < 1):
            return issue(
                "INVALID_LENGTH_OF_STAY", f"{kind} needs a positive Time.", record_id=record
            )
    if msg.status is not None and msg.status not in STATUSES:
        return issue("INVALID_RESTRICTION_STATUS", f"Status {msg.status!r}.", record_id=record)
    if msg.restriction not in RESTRICTIONS:
        return issue(
            "INVALID_RESTRICTION_STATUS", f"Restriction {msg.restriction!r}.", record_id=record
        )
    if msg.restriction in (RESTRICTION_ARRIVAL, RESTRICTION_DEPARTURE) and not msg.rate_id:
        return issue(
            "INVALID_RESTRICTION_STATUS",
            "Arrival and departure apply to a room rate.",
            record_id=record,
        )
    return None


_AMOUNT = re.compile(r"^\d+(\.(\d+))?$")


def check_rate_message(el: etree._Element, msg: RateMessage, prop: Property) -> BookingIssue | None:
    """ARI point 12: the hotel's currency, the price form of the pricing model, sane amounts."""
    record = str(msg.locator_id or "")
    if msg.currency != prop.currency.upper():
        return issue(
            "CURRENCY_CODE_DONT_MATCH_HOTEL_CURRENCY",
            f"{msg.currency or 'No currency'} is not the hotel currency {prop.currency}.",
            record_id=record,
        )
    digits = max(2, money.currency_exponent(prop.currency))
    for amount in el.iter(ota("BaseByGuestAmt")):
        for attr in ("AmountAfterTax", "AmountBeforeTax"):
            value = amount.get(attr)
            match = _AMOUNT.match(value.strip()) if value is not None else True
            if not match or (match is not True and len(match.group(2) or "") > digits):
                return issue(
                    "INVALID_PRICE",
                    f"{attr}={value!r}: a non-negative amount with at most {digits} decimals.",
                    record_id=record,
                )
    model = prop.pricing.get((msg.room_id, msg.rate_id), PRICING_STANDARD)
    if model == PRICING_STANDARD and msg.guest_prices:
        return issue("OBP_PRICING_PASSED_FOR_DEFAULT_RATE", record_id=record)
    if model == PRICING_OBP and not msg.guest_prices:
        return issue(
            "INVALID_PRICE",
            "This rate is priced per occupancy: send NumberOfGuests.",
            record_id=record,
        )
    if msg.price is None and not msg.guest_prices:
        return issue("INVALID_PRICE", "No amount.", record_id=record)
    return None


# ----------------------------------------------------------- 9, 13: applying as deltas


def _days(msg: AvailMessage | RateMessage) -> list[date]:
    span = msg.span
    days = [span.start + timedelta(days=i) for i in range(span.days)]
    if span.weekdays is None:
        return days
    chosen = set(span.weekdays)
    return [d for d in days if d.weekday() in chosen]


def _avail_aspects(msg: AvailMessage) -> list[str]:
    aspects = []
    if msg.booking_limit is not None:
        aspects.append("limit")
    if msg.status is not None:
        aspects.append(f"status:{msg.restriction or RESTRICTION_MASTER}")
    for kind, _ in msg.lengths_of_stay:
        aspects.append("min" if "Min" in kind else "max")
    return aspects


def _apply_avail(state: DayState, msg: AvailMessage) -> DayState:
    changes: dict[str, object] = {}
    if msg.booking_limit is not None:
        changes["rooms_to_sell"] = msg.booking_limit
    if msg.status is not None:
        closed = msg.status == STATUS_CLOSE
        attr = {
            RESTRICTION_ARRIVAL: "closed_to_arrival",
            RESTRICTION_DEPARTURE: "closed_to_departure",
        }.get(msg.restriction or "", "closed")
        changes[attr] = closed
    for kind, time in msg.lengths_of_stay:
        if kind == SET_MIN_LOS:
            changes["min_stay"] = time
        elif kind == SET_MAX_LOS:
            changes["max_stay"] = time
        elif kind == "RemoveMinLOS":
            changes["min_stay"] = None
        elif kind == REMOVE_MAX_LOS:
            changes["max_stay"] = None
    return replace(state, **changes)


def _months_spanned(messages: Sequence[AvailMessage | RateMessage]) -> int:
    months = {(d.year, d.month) for m in messages for d in (m.span.start, m.span.end)}
    return len(months)


def _outcome(
    *,
    applied: int,
    failed: list[BookingIssue],
    warnings: list[BookingIssue],
    updates: dict[Key, DayState],
) -> AriOutcome:
    if applied == 0 and failed:
        return AriOutcome(http_status=400, errors=tuple(failed), warnings=tuple(warnings))
    return AriOutcome(
        http_status=200,
        errors=tuple(failed),
        warnings=tuple(warnings),
        updates=updates,
        applied=applied,
    )


def apply_avail_notif(
    body: bytes,
    prop: Property,
    state: Mapping[Key, DayState],
    *,
    today: date,
    horizon_days: int = SIMULATOR_HORIZON_DAYS,
    schema: RootSchema | None = None,
) -> AriOutcome:
    """ARI points 3-11 and 13 for ``OTA_HotelAvailNotifRQ``: check, then apply as deltas.

    ``today`` is Booking's today (CET); ``state`` is not changed, the days
    to write back are in ``AriOutcome.updates``.
    """
    return _apply_document(
        body, AVAIL_NOTIF, prop, state, today=today, horizon_days=horizon_days, schema=schema
    )


def apply_rate_amount_notif(
    body: bytes,
    prop: Property,
    state: Mapping[Key, DayState],
    *,
    today: date,
    horizon_days: int = SIMULATOR_HORIZON_DAYS,
    schema: RootSchema | None = None,
) -> AriOutcome:
    """ARI points 3, 4, 6, 7, 11-13 for ``OTA_HotelRateAmountNotifRQ``."""
    return _apply_document(
        body, RATE_AMOUNT_NOTIF, prop, state, today=today, horizon_days=horizon_days, schema=schema
    )


def _apply_document(
    body: bytes,
    endpoint: str,
    prop: Property,
    state: Mapping[Key, DayState],
    *,
    today: date,
    horizon_days: int,
    schema: RootSchema | None,
) -> AriOutcome:
    root, refusal = check_document(body, endpoint, schema=schema)
    if refusal is not None:
        return AriOutcome(http_status=refusal.http_status, errors=refusal.errors)
    assert root is not None
    reader: Callable[[etree._Element], AvailMessage | RateMessage]
    if endpoint == AVAIL_NOTIF:
        container, elements = "AvailStatusMessages", codec.avail_message_elements(root)
        reader = codec.read_avail_message
        missing = issue("AVAILSTATUSMESSAGES_ELEMENT_MISSING")
    else:
        container, elements = "RateAmountMessages", codec.rate_message_elements(root)
        reader = codec.read_rate_message
        missing = issue("ROOM_ELEMENT_REQUIRED", "No RateAmountMessage.")
    if not elements:
        return AriOutcome(http_status=400, errors=(missing,))
    if (denied := check_hotel(root, container, prop)) is not None:
        return AriOutcome(http_status=denied.http_status, errors=denied.errors)
    header = check_header(root, prop)
    if header:
        return AriOutcome(http_status=400, errors=tuple(header))
    return _apply(elements, reader, prop, state, today=today, horizon_days=horizon_days)


def _read(
    el: etree._Element, reader: Callable[[etree._Element], AvailMessage | RateMessage], n: int
) -> tuple[AvailMessage | RateMessage | None, BookingIssue | None]:
    try:
        return reader(el), None
    except (OTAParseError, ValueError) as exc:
        record = el.get("LocatorID") or str(n)
        code = (
            "FROM_DATE_SHOULD_BE_LESS_THAN_TO_DATE"
            if "before Start" in str(exc)
            else "ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE"
        )
        return None, issue(code, str(exc), record_id=record)


def _apply(
    elements: list[etree._Element],
    reader: Callable[[etree._Element], AvailMessage | RateMessage],
    prop: Property,
    state: Mapping[Key, DayState],
    *,
    today: date,
    horizon_days: int,
) -> AriOutcome:
    updates: dict[Key, DayState] = {}
    seen: set[tuple[Key, str]] = set()
    failed: list[BookingIssue] = []
    warnings: list[BookingIssue] = []
    duplicates: set[str] = set()
    read_messages = []
    applied = 0
    for n, el in enumerate(elements, start=1):
        msg, problem = _read(el, reader, n)
        if msg is not None:
            if msg.locator_id is None:
                msg = replace(msg, locator_id=n)
            problem = check_dates(msg, today=today, horizon_days=horizon_days) or check_product(
                msg, prop
            )
            if problem is None:
                problem = (
                    check_avail_message(msg)
                    if isinstance(msg, AvailMessage)
                    else check_rate_message(el, msg, prop)
                )
        if problem is not None or msg is None:
            failed.append(problem or issue("ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE", record_id=str(n)))
            continue
        read_messages.append(msg)
        record = str(msg.locator_id)
        aspects = _avail_aspects(msg) if isinstance(msg, AvailMessage) else ["price"]
        new_days: dict[Key, DayState] = {}
        said: list[tuple[Key, str]] = []
        for day in _days(msg):
            key: Key = (msg.room_id, msg.rate_id or None, day)
            fresh = [a for a in aspects if (key, a) not in seen]
            if len(fresh) < len(aspects):
                duplicates.add(record)
            if not fresh:
                continue
            current = updates.get(key) or state.get(key) or DayState()
            if isinstance(msg, AvailMessage):
                partial = replace(
                    msg,
                    booking_limit=msg.booking_limit if "limit" in fresh else None,
                    status=msg.status if any(a.startswith("status") for a in fresh) else None,
                    lengths_of_stay=tuple(
                        x
                        for x in msg.lengths_of_stay
                        if ("min" if "Min" in x[0] else "max") in fresh
                    ),
                )
                new = _apply_avail(current, partial)
            else:
                new = replace(current, price=msg.price, guest_prices=msg.guest_prices)
            new_days[key] = new
            said += [(key, a) for a in fresh]
        clash = next(
            (
                k
                for k, d in new_days.items()
                if d.min_stay and d.max_stay and d.min_stay > d.max_stay
            ),
            None,
        )
        if clash is not None:
            failed.append(
                issue(
                    "MIN_STAY_ABOVE_MAX_STAY",
                    f"Minimum stay above maximum stay on {clash[2]}.",
                    record_id=record,
                )
            )
            continue
        # Only what was applied counts as said: a refused message does not shadow a later one.
        seen.update(said)
        updates.update(new_days)
        applied += 1
    for record in sorted(duplicates, key=lambda r: int(r) if r.isdigit() else 0):
        warnings.append(issue("WARN_DUPLICATE_DATES", record_id=record, processed=True))
    if _months_spanned(read_messages) > 1:
        warnings.append(issue("WARN_MULTIPLE_MONTHS", processed=True))
    return _outcome(applied=applied, failed=failed, warnings=warnings, updates=updates)


# ---------------------------------------------------------------- reservations: 1, 3, 4


def check_reservation_host(host: str, *, secure_host: str) -> Verdict | None:
    """Reservations point 1: reservation calls only on the secure host."""
    if host.split(":")[0].lower() != secure_host.split(":")[0].lower():
        return _refuse(
            403, "SECURE_HOST_REQUIRED", f"Reservations are served on {secure_host} only."
        )
    return None


def polling_warnings(
    now: datetime,
    *,
    last_get: datetime | None,
    last_ack: datetime | None,
    concurrent: bool = False,
) -> tuple[BookingIssue, ...]:
    """Reservations point 3 as warnings: GETs under 20 s apart, 5 s after an ack, in parallel."""
    found = []
    if last_get is not None and now - last_get < timedelta(seconds=codec.PULL_INTERVAL_SECONDS):
        found.append(issue("WARN_POLLING_TOO_OFTEN", processed=True))
    if last_ack is not None and now - last_ack < timedelta(seconds=codec.ACK_WAIT_SECONDS):
        found.append(issue("WARN_POLLING_AFTER_ACK", processed=True))
    if concurrent:
        found.append(issue("WARN_CONCURRENT_POLLING", processed=True))
    return tuple(found)


@dataclass(frozen=True, kw_only=True)
class QueuedMessage:
    """A reservation message waiting for Pema's ack.

    ``version`` changes whenever the simulator changes the reservation;
    ``pulled_version`` is the version the last GET returned (None: never
    returned). ``token`` is what Booking calls the response token.
    """

    reservation_id: str
    hotel_id: str
    endpoint: str
    version: int = 1
    pulled_version: int | None = None

    @property
    def token(self) -> str:
        return f"{self.reservation_id}-{self.version}"


@dataclass(frozen=True, kw_only=True)
class AckVerdict:
    """What an ack POST does: the status, which messages leave the queue, which were rejected."""

    http_status: int
    acknowledged: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    errors: tuple[BookingIssue, ...] = ()

    def body(self, endpoint: str, *, ruid: str | None = None) -> bytes:
        if self.http_status >= 400:
            return reservations.build_ack_error(endpoint, self.errors, ruid=ruid)
        return reservations.build_ack(endpoint, self.acknowledged, ruid=ruid or codec.new_ruid())


def _ack_refusal(status: int, code: str, text: str, record: str = "") -> AckVerdict:
    return AckVerdict(http_status=status, errors=(issue(code, text, record_id=record),))


def check_ack(
    body: bytes,
    endpoint: str,
    *,
    queue: Mapping[str, QueuedMessage],
    hotels: Collection[str],
    schema: RootSchema | None = None,
) -> AckVerdict:
    """Reservations point 4: what Booking does with an acknowledgement.

    - 400 when the root does not match the endpoint (or the document is not
      an ack), ``TimeStamp``/``Target`` are missing, or a reservation's queued
      message belongs to the other endpoint ("wrong type");
    - 403 when an id is not a queued message of a hotel the caller may access;
    - 409 when the reservation changed since the GET that returned it;
    - otherwise 200: a ``Success`` ack removes the messages from the queue, an
      ack with ``Errors`` (an active rejection) keeps them queued.

    One failing id refuses the whole ack, so nothing is half-acknowledged.
    """
    if endpoint not in (RES_NOTIF, RES_MODIFY_NOTIF):
        raise ValueError(f"{endpoint} takes no acknowledgements")
    other = RES_MODIFY_NOTIF if endpoint == RES_NOTIF else RES_NOTIF
    try:
        root = parse_xml(body)
    except XMLError as exc:
        return _ack_refusal(400, "XML_SCHEMA_INVALID", str(exc))
    name = local_name(root)
    if name == ROOTS[other][1]:
        return _ack_refusal(400, "WRONG_TYPE", WRONG_TYPE)
    _, refusal = check_document(body, endpoint, schema=schema)
    if refusal is not None:
        return AckVerdict(http_status=refusal.http_status, errors=refusal.errors)
    if read_datetime(root.get("TimeStamp")) is None or root.get("Target") not in TARGETS:
        return _ack_refusal(
            400, "ATTRIBUTE_VALUE_DOES_NOT_MATCH_TYPE", "TimeStamp and Target are required."
        )
    try:
        ack = reservations.parse_ack(body, endpoint=endpoint)
    except OTAParseError as exc:
        return _ack_refusal(400, "XML_SCHEMA_INVALID", str(exc))
    if not ack.reservation_ids:
        return _ack_refusal(400, "ROOM_ELEMENT_REQUIRED", "No HotelReservationID@ResID_Value.")
    for rid in ack.reservation_ids:
        queued = queue.get(rid)
        if queued is None or queued.hotel_id not in hotels:
            return _ack_refusal(403, "HOTEL_ACCESS_DENIED", ACCESS_DENIED, rid)
    for rid in ack.reservation_ids:
        if queue[rid].endpoint != endpoint:
            return _ack_refusal(400, "WRONG_TYPE", WRONG_TYPE, rid)
    for rid in ack.reservation_ids:
        queued = queue[rid]
        if queued.pulled_version != queued.version:
            return _ack_refusal(
                409, "PULL_AGAIN", PULL_AGAIN.format(token=queued.token, id=rid), rid
            )
    if not ack.success:
        return AckVerdict(http_status=200, rejected=ack.reservation_ids)
    return AckVerdict(http_status=200, acknowledged=ack.reservation_ids)


__all__ = [
    "AckVerdict",
    "AriOutcome",
    "DayState",
    "Key",
    "Property",
    "QueuedMessage",
    "Verdict",
    "apply_avail_notif",
    "apply_rate_amount_notif",
    "basic_credentials",
    "check_ack",
    "check_authorization",
    "check_avail_message",
    "check_dates",
    "check_document",
    "check_header",
    "check_hotel",
    "check_http",
    "check_product",
    "check_rate_message",
    "check_reservation_host",
    "may_issue_token",
    "polling_warnings",
    "schema_errors",
    "token_alive",
]
