"""The IDS Next provider: Pema's generic work as OpenTravel messages.

Wire contract: each message is POSTed to ``{base_url}/{root element name}``
as ``text/xml; charset=utf-8`` with ``X-API-Key`` and ``X-API-Secret``. Every
answer is ``Success`` (maybe with ``Warnings``) or ``Errors``; an error's EWT
type decides whether retrying can help (see :func:`classify`). The EchoToken
of a job's message is the job's ``message_id``, identical on every retry.

The operations take the engine's typed items and reservation messages (the
partner's room and rate codes already mapped) and return a ``DeliveryResult``:
IDS's reservation reference is handed back, and the engine keeps it as the
reservation's PMS reference. Nothing here reads or writes a reservation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from channels.interface import (
    AvailabilityItem,
    AvailabilityQuery,
    Capabilities,
    DeliveryResult,
    PricingModel,
    RateItem,
    ReservationMessage,
    RestrictionItem,
)
from channels.providers.base import PermanentError, Provider, SyncError, TransientError
from pema import ota
from pema.ota.common import EWT_AUTHENTICATION, EWT_AUTHORIZATION, EWT_BUSINESS_RULE

# EWT types for which the same message can never succeed: business rule,
# authentication, authorisation, required field missing. Others (processing
# exception, application error, ...) may pass on a later try.
PERMANENT_EWT = {EWT_BUSINESS_RULE, EWT_AUTHENTICATION, EWT_AUTHORIZATION, 10}
ALREADY_CANCELLED = "Already cancelled in the PMS."


def classify(response: ota.OTAResponse) -> SyncError:
    """The error to raise for a response carrying ``Errors``."""
    text = (
        "; ".join(f"[EWT {e.type}, ERR {e.code}] {e.text}".strip() for e in response.errors)
        or "The PMS answered without Success."
    )
    if any(e.type in PERMANENT_EWT for e in response.errors):
        return PermanentError(text)
    return TransientError(text)


def _warnings(response: ota.OTAResponse) -> str:
    return "; ".join(f"[{w.type}/{w.code}] {w.text}" for w in response.warnings)


def _warning_list(response: ota.OTAResponse) -> tuple[str, ...]:
    return tuple(f"[{w.type}/{w.code}] {w.text}" for w in response.warnings)


def _check(response: ota.OTAResponse) -> str:
    if not response.success:
        raise classify(response)
    return _warnings(response)


class IdsNextProvider(Provider):
    """IDS Next PMS: ARI push, dual booking, availability check."""

    key = "ids_next"
    label = "IDS Next (PMS, OpenTravel XML)"
    settings_fields: ClassVar[dict[str, str]] = {"hotel_code": "IDS hotel code"}
    credential_fields: ClassVar[dict[str, str]] = {
        "api_key": "API key (X-API-Key)",
        "api_secret": "API secret (X-API-Secret)",
    }
    content_type = "text/xml; charset=utf-8"
    # Its OpenTravel messages carry no rooms, housekeeping or guest profiles: a PMS sync
    # says clearly that IDS Next does not support them (pms.sync.NotSyncable).
    pms_entities: ClassVar[frozenset[str]] = frozenset()
    # IDS holds every reservation (we export them all) and subtracts them from the
    # BookingLimit itself, so we send rooms offered, not rooms left.
    limit_nets_reservations = False

    @property
    def hotel_code(self) -> str:
        return self.connection.settings.get("hotel_code", "")

    def capabilities(self) -> Capabilities:
        # A PMS: it takes every reservation, counts them itself (rooms offered, not left),
        # prices base plus extra guests, and is asked before a booking; the whole calendar.
        from django.conf import settings

        return Capabilities(
            nets_reservations=False,
            weekday_patterns=True,
            pricing_model=PricingModel.PER_OCCUPANCY,
            horizon_days=max(settings.PEMA_CALENDAR_DAYS, 1),
            exports_reservations=True,
            answers_availability=True,
        )

    def headers(self) -> dict[str, str]:
        creds = self.connection.credentials or {}
        return {
            **super().headers(),
            "X-API-Key": creds.get("api_key", ""),
            "X-API-Secret": creds.get("api_secret", ""),
        }

    # ------------------------------------------------------------------ operations
    def test_connection(self) -> str:
        echo = f"pema-ping-{self.connection.pk}"
        body = ota.build_ping_rq(ota.PingRQ(echo_data=echo, echo_token=echo))
        rs = self.exchange(ota.PING_RQ, body, ota.parse_ping_rs, check=_check, correlation_id=echo)
        if rs.data != echo:
            raise PermanentError("The PMS answered the ping with different echo data.")
        return "IDS Next answered the ping." + (
            f" Warnings: {_warnings(rs)}" if rs.warnings else ""
        )

    def check_availability(self, query: AvailabilityQuery) -> int:
        room_type = query.partner_room_id
        body = ota.build_hotel_avail_rq(
            ota.HotelAvailRQ(
                hotel_code=self.hotel_code,
                start=query.check_in,
                end=query.check_out,
                adults=query.adults,
                children=query.children,
                rooms=query.rooms,
                room_type_code=room_type,
                rate_plan_code=query.partner_rate_id,
            )
        )

        def check(rs: ota.OTAResponse) -> str:
            # "No availability" is an answer, not a failure.
            if not rs.success and not rs.has_error(code=ota.ERR_NO_AVAILABILITY):
                raise classify(rs)
            return _warnings(rs)

        rs = self.exchange(ota.HOTEL_AVAIL_RQ, body, ota.parse_hotel_avail_rs, check=check, items=1)
        if not rs.success or rs.data is None:
            return 0
        return rs.data.units_for(room_type)

    def ari_wire_messages(self, item: dict) -> int:
        # A restriction item needs one message per RestrictionStatus (Master, Arrival, Departure).
        return 3 if item["type"] == "restr" else 1

    # ------------------------------------------------------------------ ARI
    def _avail_messages(
        self, item: AvailabilityItem | RestrictionItem
    ) -> list[ota.AvailStatusMessage]:
        span = item.span
        days = ota.DaysOfWeek.from_weekdays(span.weekdays)

        def status(closed: bool, restriction: str) -> ota.RestrictionStatus:
            return ota.RestrictionStatus(
                status=ota.STATUS_CLOSE if closed else ota.STATUS_OPEN, restriction=restriction
            )

        if isinstance(item, AvailabilityItem):
            return [
                ota.AvailStatusMessage(
                    start=span.start,
                    end=span.end,
                    days=days,
                    inv_type_code=item.partner_room_id,
                    booking_limit=item.rooms_to_sell,
                    restriction=status(item.stop_sell, ota.RESTRICTION_MASTER),
                )
            ]
        arrival_los = [
            ota.LengthOfStay(min_max_message_type=ota.SET_MIN_LOS, time=item.min_stay_arrival)
        ]
        # Always say something about the maximum, so a lifted one is lifted in IDS too.
        arrival_los.append(
            ota.LengthOfStay(min_max_message_type=ota.SET_MAX_LOS, time=item.max_stay)
            if item.max_stay
            else ota.LengthOfStay(min_max_message_type=ota.REMOVE_MAX_LOS)
        )
        common = {
            "start": span.start,
            "end": span.end,
            "days": days,
            "inv_type_code": item.partner_room_id,
            "rate_plan_code": item.partner_rate_id,
        }
        return [
            ota.AvailStatusMessage(
                **common,
                restriction=status(item.stop_sell, ota.RESTRICTION_MASTER),
                arrival_date_based=True,
                lengths_of_stay=tuple(arrival_los),
            ),
            ota.AvailStatusMessage(
                **common,
                restriction=status(item.closed_to_arrival, ota.RESTRICTION_ARRIVAL),
                arrival_date_based=False,
                lengths_of_stay=(
                    ota.LengthOfStay(
                        min_max_message_type=ota.SET_MIN_LOS, time=item.min_stay_through
                    ),
                ),
            ),
            ota.AvailStatusMessage(
                **common, restriction=status(item.closed_to_departure, ota.RESTRICTION_DEPARTURE)
            ),
        ]

    def push_availability(
        self, items: Sequence[AvailabilityItem | RestrictionItem], *, message_id: str
    ) -> DeliveryResult:
        messages = [m for item in items for m in self._avail_messages(item)]
        return self._notify(
            message_id,
            ota.AVAIL_NOTIF_RQ,
            ota.build_hotel_avail_notif_rq(
                ota.HotelAvailNotifRQ(
                    hotel_code=self.hotel_code, messages=tuple(messages), echo_token=message_id
                )
            ),
            ota.parse_hotel_avail_notif_rs,
            len(messages),
        )

    def _notify(self, message_id: str, name: str, body: bytes, parse, count: int) -> DeliveryResult:
        """Send one ARI notification document under the job's EchoToken."""
        rs = self.exchange(name, body, parse, items=count, correlation_id=message_id, check=_check)
        return DeliveryResult(warnings=_warning_list(rs), messages=count)

    def push_rates(self, items: Sequence[RateItem], *, message_id: str) -> DeliveryResult:
        messages = []
        for item in items:
            extra = []
            if item.extra_adult:
                extra.append(
                    ota.AdditionalGuestAmount(
                        age_qualifying_code=ota.AQC_ADULT, amount=item.extra_adult
                    )
                )
            if item.extra_child:
                extra.append(
                    ota.AdditionalGuestAmount(
                        age_qualifying_code=ota.AQC_CHILD, amount=item.extra_child
                    )
                )
            messages.append(
                ota.RateAmountMessage(
                    start=item.span.start,
                    end=item.span.end,
                    days=ota.DaysOfWeek.from_weekdays(item.span.weekdays),
                    inv_type_code=item.partner_room_id,
                    rate_plan_code=item.partner_rate_id,
                    rates=(
                        ota.RateAmount(
                            currency=item.currency,
                            base_by_guest=(ota.GuestAmount(amount_after_tax=item.price),),
                            additional_guests=tuple(extra),
                        ),
                    ),
                )
            )
        return self._notify(
            message_id,
            ota.RATE_AMOUNT_NOTIF_RQ,
            ota.build_hotel_rate_amount_notif_rq(
                ota.HotelRateAmountNotifRQ(
                    hotel_code=self.hotel_code, messages=tuple(messages), echo_token=message_id
                )
            ),
            ota.parse_hotel_rate_amount_notif_rs,
            len(messages),
        )

    # ------------------------------------------------------------------ reservations
    def res_notif(self, reservation: ReservationMessage, *, modify: bool, echo_token: str) -> bytes:
        """The OTA_HotelResNotifRQ for the reservation as it is now.

        One RoomStay per group of like rooms: each room's own type, plan, dates,
        guests and nightly prices, so a mixed reservation reaches IDS type by type.
        """
        room_stays = ota.merge_identical_room_stays(
            ota.ResNotifRoomStay(
                room_type_code=room.partner_room_id,
                rate_plan_code=room.partner_rate_id,
                start=room.check_in,
                end=room.check_out,
                adults=room.adults,
                children=room.children,
                rates=tuple(ota.NightRate(night=n.date, amount=n.price) for n in room.nights),
                total=sum(n.price for n in room.nights),
            )
            for room in reservation.rooms
        )
        guest = reservation.guest
        return ota.build_hotel_res_notif_rq(
            ota.HotelResNotifRQ(
                res_status=ota.RES_STATUS_MODIFY if modify else ota.RES_STATUS_COMMIT,
                confirmation_number=reservation.confirmation_number,
                hotel_code=self.hotel_code,
                room_stays=room_stays,
                # The rooms say the stay; without any, the whole stay is the one RoomStay.
                **(
                    {}
                    if room_stays
                    else {
                        "start": reservation.check_in,
                        "end": reservation.check_out,
                        "adults": reservation.adults or 1,
                        "children": reservation.children,
                    }
                ),
                guest=ota.GuestProfile(
                    surname=guest.surname or guest.given_name or "Guest",
                    given_name=guest.given_name or None,
                    email=guest.email or None,
                    phone=guest.phone or None,
                    country=guest.country or None,
                ),
                special_requests=(reservation.special_requests,)
                if reservation.special_requests
                else (),
                total=reservation.total,
                currency=reservation.currency,
                pms_reference=reservation.partner_reference or None if modify else None,
                echo_token=echo_token,
            )
        )

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        # With IDS's reference it is a Modify of what IDS holds; without, a Commit.
        modify = bool(reservation.partner_reference)
        if not modify and reservation.cancelled:
            return DeliveryResult(skipped="Cancelled before it reached the PMS.")
        body = self.res_notif(reservation, modify=modify, echo_token=message_id)
        rs = self.exchange(
            ota.RES_NOTIF_RQ,
            body,
            ota.parse_hotel_res_notif_rs,
            items=1,
            correlation_id=message_id,
            check=_check,
        )
        reference = rs.data.pms_reference if rs.data else None
        if not reference:
            if modify:
                return DeliveryResult(warnings=_warning_list(rs), messages=1)
            raise PermanentError("The PMS accepted the reservation but returned no reference.")
        return DeliveryResult(
            partner_references={reservation.confirmation_number: reference},
            warnings=_warning_list(rs),
            messages=1,
        )

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        if not reservation.partner_reference:
            # Every earlier job of this reservation has finished (stream order), so
            # no reference means it never reached the PMS: nothing to cancel there.
            return DeliveryResult(skipped="Never reached the PMS: nothing to cancel there.")
        body = ota.build_cancel_rq(
            ota.CancelRQ(
                pms_reference=reservation.partner_reference,
                confirmation_number=reservation.confirmation_number,
                echo_token=message_id,
            )
        )

        def check(rs: ota.OTAResponse) -> str:
            # A retry of a cancel that landed meets "already cancelled": that is success.
            if not rs.success and rs.has_error(code=ota.ERR_BOOKING_ALREADY_CANCELLED):
                return ALREADY_CANCELLED
            return _check(rs)

        rs = self.exchange(
            ota.CANCEL_RQ,
            body,
            ota.parse_cancel_rs,
            items=1,
            correlation_id=message_id,
            check=check,
        )
        # IDS's cancellation number stays in the sync log's copy of the answer.
        warnings = _warning_list(rs) if rs.success else (ALREADY_CANCELLED,)
        return DeliveryResult(warnings=warnings, messages=1)
