"""Everything the IDS Next provider puts on the wire is valid OpenTravel 2011B.

The codec's own tests validate hand-made messages; this one validates what
the provider actually sends for a calendar with every kind of restriction and
for a reservation's whole life (create, modify, cancel).
"""

from datetime import timedelta

import pytest
import responses

from bookings.ari import AriChanges, apply_ari_update
from bookings.reservations import GuestDetails, cancel_reservation, modify_reservation, reserve_stay
from channels.delivery import deliver
from channels.dispatch import dispatch, plan_full_sync
from pema import ota
from tests.ota.conftest import SchemaCache, schemas_dir

from .conftest import BASE_URL
from .ota_responses import ok, res_ok

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schemas() -> SchemaCache:
    return SchemaCache(schemas_dir())


@responses.activate
def test_every_message_the_provider_sends_is_schema_valid(hotel, conn, schemas):
    answers = {
        ota.AVAIL_NOTIF_RQ: ok(ota.AVAIL_NOTIF_RQ),
        ota.RATE_AMOUNT_NOTIF_RQ: ok(ota.RATE_AMOUNT_NOTIF_RQ),
        ota.RES_NOTIF_RQ: res_ok("IDS-77"),
        ota.CANCEL_RQ: ok(
            ota.CANCEL_RQ, ota.CancelResult(status="Cancelled", pms_reference="IDS-77")
        ),
    }
    for name, body in answers.items():
        responses.post(f"{BASE_URL}/{name}", body=body)

    today = hotel.today()
    ext = hotel.room_types.get(code="EXT")
    plan = hotel.rate_plans.get(code="BAR")
    for offset, changes in [
        (2, AriChanges(stop_sell=True)),
        (3, AriChanges(closed_to_arrival=True, min_stay_arrival=3, max_stay=7)),
        (4, AriChanges(closed_to_departure=True, min_stay_through=2)),
        (5, AriChanges(price=1_234_567, extra_adult_price=50_000, extra_child_price=25_000)),
    ]:
        day = today + timedelta(days=offset)
        apply_ari_update(
            hotel, start=day, end=day, room_types=[ext], rate_plans=[plan], changes=changes
        )
    apply_ari_update(
        hotel, start=today, end=today + timedelta(days=9), room_types=[ext],
        changes=AriChanges(blocked=1),
    )  # fmt: skip
    apply_ari_update(
        hotel, start=today + timedelta(days=14), end=today + timedelta(days=34),
        room_types=[ext], rate_plans=[plan], weekdays={5, 6},
        changes=AriChanges(price=1_500_000, closed_to_arrival=True),
    )  # fmt: skip
    check_in = today + timedelta(days=12)
    reservation = reserve_stay(
        hotel=hotel, room_type=ext, rate_plan=plan, check_in=check_in,
        check_out=check_in + timedelta(days=2), adults=2, children=1,
        guest=GuestDetails("Asha", "Rao", "asha@example.com", "+91 98450 00000", "IN"),
        source="booking_engine", special_requests="Quiet room, late arrival",
    )  # fmt: skip
    plan_full_sync(conn, days=30)
    dispatch(conn)
    deliver(conn.pk)
    modify_reservation(reservation, source="staff", check_out=check_in + timedelta(days=3))
    dispatch(conn)
    deliver(conn.pk)
    cancel_reservation(reservation, source="staff")
    dispatch(conn)
    deliver(conn.pk)

    sent = [call.request.body for call in responses.calls]
    assert any(b'Sat="true"' in body for body in sent)  # weekday patterns went out
    kinds = {ota.message_name(body) for body in sent}
    assert kinds == set(answers), kinds
    for body in sent:
        schemas.assert_valid(body if isinstance(body, bytes) else body.encode())
    res_messages = [
        ota.parse_hotel_res_notif_rq(b) for b in sent if ota.message_name(b) == ota.RES_NOTIF_RQ
    ]
    assert [m.res_status for m in res_messages] == ["Commit", "Modify"]


@responses.activate
def test_lifting_a_maximum_stay_reaches_ids(hotel, conn, schemas):
    responses.post(f"{BASE_URL}/{ota.AVAIL_NOTIF_RQ}", body=ok(ota.AVAIL_NOTIF_RQ))
    responses.post(f"{BASE_URL}/{ota.RATE_AMOUNT_NOTIF_RQ}", body=ok(ota.RATE_AMOUNT_NOTIF_RQ))
    day = hotel.today() + timedelta(days=3)
    ext = hotel.room_types.get(code="EXT")
    plan = hotel.rate_plans.get(code="BAR")

    def max_stays_sent() -> list[tuple[str, int | None]]:
        dispatch(conn)
        deliver(conn.pk)
        body = responses.calls[-1].request.body
        schemas.assert_valid(body)
        rq = ota.parse_hotel_avail_notif_rq(body)
        return [
            (los.min_max_message_type, los.time)
            for message in rq.messages
            if message.start <= day <= message.end and message.inv_type_code == "EXT"
            for los in message.lengths_of_stay
            if "MaxLOS" in los.min_max_message_type
        ]

    apply_ari_update(
        hotel, start=day, end=day, room_types=[ext], rate_plans=[plan],
        changes=AriChanges(max_stay=7),
    )  # fmt: skip
    assert max_stays_sent() == [("SetMaxLOS", 7)]
    apply_ari_update(
        hotel, start=day, end=day, room_types=[ext], rate_plans=[plan],
        changes=AriChanges(clear_max_stay=True),
    )  # fmt: skip
    assert max_stays_sent() == [("RemoveMaxLOS", None)]
