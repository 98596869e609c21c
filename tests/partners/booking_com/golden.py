"""The fixed inputs of the ARI samples Pema records in partners/booking_com/samples/.

``pema_avail_notif_rq.xml`` and ``pema_rate_amount_notif_rq.xml`` are what
:func:`build_ari_documents` writes for these items on this day; the sample
tests rebuild them and compare byte for byte, so a change to the wire form
shows up as a changed sample in review.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from channels.interface import AvailabilityItem, DateSpan, RateItem, RestrictionItem
from partners.booking_com import codec

TODAY = date(2026, 3, 10)
TIMESTAMP = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOTEL_ID = "367456"

ITEMS = (
    AvailabilityItem(
        span=DateSpan(date(2026, 3, 12), date(2026, 3, 20)),
        room_type="EXQ",
        partner_room_id="36745603",
        rooms_to_sell=4,
    ),
    AvailabilityItem(
        span=DateSpan(date(2026, 3, 21), date(2026, 3, 21)),
        room_type="EXQ",
        partner_room_id="36745603",
        rooms_to_sell=0,
        stop_sell=True,
    ),
    RestrictionItem(
        span=DateSpan(date(2026, 3, 13), date(2026, 3, 29), weekdays=(4, 5)),
        room_type="EXQ",
        rate_plan="BAR-BB",
        partner_room_id="36745603",
        partner_rate_id="1278606",
        closed_to_arrival=True,
        min_stay_through=2,
        max_stay=7,
    ),
    RestrictionItem(
        span=DateSpan(date(2026, 3, 15), date(2026, 3, 15)),
        room_type="EXQ",
        rate_plan="NRF",
        partner_room_id="36745603",
        partner_rate_id="1278607",
        stop_sell=True,
        closed_to_departure=True,
    ),
    RateItem(
        span=DateSpan(date(2026, 3, 12), date(2026, 3, 31)),
        room_type="EXQ",
        rate_plan="BAR-BB",
        partner_room_id="36745603",
        partner_rate_id="1278606",
        price=12_050,
        currency="EUR",
    ),
    RateItem(
        span=DateSpan(date(2026, 3, 14), date(2026, 3, 29), weekdays=(5, 6)),
        room_type="EXQ",
        rate_plan="NRF",
        partner_room_id="36745603",
        partner_rate_id="1278607",
        price=11_000,
        currency="EUR",
    ),
)


def documents() -> list[codec.AriDocument]:
    return codec.build_ari_documents(
        ITEMS,
        hotel_id=HOTEL_ID,
        currency="EUR",
        target=codec.TARGET_TEST,
        today=TODAY,
        timestamp=TIMESTAMP,
        echo_token="pema-sample",
    )
