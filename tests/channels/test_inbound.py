"""The inbound pipeline: recording, applying once per revision, holding, acknowledging."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses

from bookings.models import ChangeEvent, InventoryDay, Reservation, RoomNight, RoomType
from bookings.reservations import GuestDetails, reserve_stay
from channels.dispatch import dispatch
from channels.inbound import (
    acknowledge_pending,
    apply_inbound,
    mark_ack_failed,
    pending_acks,
    record_inbound,
    record_malformed,
    retry_messages,
)
from channels.interface import (
    GuestDetails as PartnerGuest,
)
from channels.interface import (
    InboundKind,
    InboundReservation,
    InboundRoomStay,
    Night,
)
from channels.models import ChannelProduct, InboundMessage, SyncJob

from .conftest import OTA_BASE_URL

Status = InboundMessage.Status
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def message(
    hotel,
    kind: InboundKind = InboundKind.NEW,
    *,
    res_id: str = "BK100",
    revision: str = "1",
    room: str = "EXQ",
    rate: str = "BAR",
    start: int = 5,
    nights: int = 2,
    price: int = 900_000,
    rooms: int = 1,
    adults: int = 2,
    currency: str = "INR",
    revised_at: datetime | None = None,
    ack_token: str = "",
) -> InboundReservation:
    """A partner's reservation message for the test hotel, ``start`` days from today."""
    check_in = hotel.today() + timedelta(days=start)
    check_out = check_in + timedelta(days=nights)
    stay = InboundRoomStay(
        partner_room_id=room,
        partner_rate_id=rate,
        check_in=check_in,
        check_out=check_out,
        adults=adults,
        nights=tuple(Night(check_in + timedelta(days=n), price) for n in range(nights)),
    )
    return InboundReservation(
        partner_reservation_id=res_id,
        revision=revision,
        kind=kind,
        currency=currency,
        total=price * nights * rooms,
        guest=PartnerGuest(given_name="Mira", surname="Sen", email="mira@example.com"),
        rooms=(stay,) * rooms,
        special_requests="Late arrival",
        revised_at=revised_at,
        ack_token=ack_token,
        raw=json.dumps({"id": res_id, "revision": revision}).encode(),
    )


def receive(connection, inbound: InboundReservation) -> InboundMessage:
    """What a pull or a push does: store raw first, then apply."""
    return apply_inbound(record_inbound(connection, inbound).pk)


def sold(hotel, code: str, start: int, nights: int) -> list[tuple[int, int]]:
    """(sold, overbooked) of a room type on each night from ``start`` days ahead."""
    first = hotel.today() + timedelta(days=start)
    rows = InventoryDay.objects.filter(
        room_type__hotel=hotel,
        room_type__code=code,
        date__gte=first,
        date__lt=first + timedelta(days=nights),
    ).order_by("date")
    return [(row.sold, row.overbooked) for row in rows]


def events(kind: str) -> int:
    return ChangeEvent.objects.filter(kind=kind).count()


# ---------------------------------------------------------------------- new, modify, cancel


def test_a_new_booking_is_created_with_the_partners_prices_and_counted_in(hotel, ota):
    done = receive(ota, message(hotel, price=812_345))

    assert done.status == Status.APPLIED and done.applied_at is not None
    reservation = done.reservation
    assert reservation.source == Reservation.Source.OTA
    assert reservation.source_channel == "test_inbound"
    assert reservation.external_id == "BK100"
    assert reservation.total_amount == 2 * 812_345
    assert reservation.special_requests == "Late arrival"
    assert reservation.guest.last_name == "Sen"
    prices = RoomNight.objects.filter(stay__reservation=reservation).values_list("price", flat=True)
    assert list(prices) == [812_345, 812_345]
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]
    assert events(ChangeEvent.Kind.RESERVATION_CREATED) == 1


def test_the_same_revision_twice_is_one_reservation_and_one_event(hotel, ota):
    first = receive(ota, message(hotel))
    again = record_inbound(ota, message(hotel))

    assert again.pk == first.pk and again.deliveries == 2
    assert apply_inbound(again.pk).status == Status.APPLIED
    assert InboundMessage.objects.count() == 1
    assert Reservation.objects.count() == 1
    assert events(ChangeEvent.Kind.RESERVATION_CREATED) == 1
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]


def test_a_modification_moves_the_inventory_and_reprices(hotel, ota):
    receive(ota, message(hotel, start=5, nights=2))
    done = receive(
        ota, message(hotel, InboundKind.MODIFY, revision="2", start=8, nights=3, price=700_000)
    )

    assert done.status == Status.APPLIED
    reservation = done.reservation
    assert Reservation.objects.count() == 1
    assert (reservation.check_in - hotel.today()).days == 8 and reservation.nights == 3
    assert reservation.total_amount == 2_100_000 and reservation.version == 2
    assert reservation.external_revision == "2"
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXQ", 8, 3) == [(1, 0)] * 3
    assert events(ChangeEvent.Kind.RESERVATION_MODIFIED) == 1


def test_a_modification_to_another_room_type_moves_between_types(hotel, ota):
    receive(ota, message(hotel, room="EXQ"))
    done = receive(ota, message(hotel, InboundKind.MODIFY, revision="2", room="EXT"))

    # Still the partner's price (not the hotel's 1,000,000 a night), though it did not change.
    assert done.reservation.total_amount == 2 * 900_000
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXT", 5, 2) == [(1, 0), (1, 0)]


def test_a_cancellation_frees_the_dates(hotel, ota):
    receive(ota, message(hotel))
    done = receive(ota, message(hotel, InboundKind.CANCEL, revision="2"))

    assert done.status == Status.APPLIED
    assert done.reservation.status == Reservation.Status.CANCELLED
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert events(ChangeEvent.Kind.RESERVATION_CANCELLED) == 1


def test_a_booking_sent_again_as_new_with_a_new_revision_modifies_it(hotel, ota):
    # Booking.com re-sends a booking changed before its first acknowledgement as "new".
    receive(ota, message(hotel, nights=2))
    done = receive(ota, message(hotel, revision="2", nights=4))

    assert done.status == Status.APPLIED
    assert Reservation.objects.get().nights == 4
    assert sold(hotel, "EXQ", 5, 4) == [(1, 0)] * 4


def test_a_modification_changing_nothing_writes_no_new_version(hotel, ota):
    receive(ota, message(hotel))
    done = receive(ota, message(hotel, InboundKind.MODIFY, revision="2"))

    assert done.status == Status.APPLIED
    assert done.reservation.version == 2  # the revision is noted ...
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]  # ... the stay is not re-sold


def test_several_rooms_of_one_kind_are_one_reservation_with_a_stay_each(hotel, ota):
    done = receive(ota, message(hotel, rooms=2, price=500_000))

    reservation = done.reservation
    assert reservation.rooms.count() == 2
    assert reservation.total_amount == 2 * 2 * 500_000
    assert sold(hotel, "EXQ", 5, 2) == [(2, 0), (2, 0)]


# ---------------------------------------------------------------------- revision order


def test_an_older_revision_after_a_newer_one_is_recorded_not_applied(hotel, ota):
    receive(ota, message(hotel, revision="2", start=8, revised_at=T0 + timedelta(hours=1)))
    late = receive(ota, message(hotel, InboundKind.MODIFY, revision="1", start=5, revised_at=T0))

    assert late.status == Status.SUPERSEDED
    assert "Revision 2" in late.error
    assert (Reservation.objects.get().check_in - hotel.today()).days == 8
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXQ", 8, 2) == [(1, 0), (1, 0)]
    assert events(ChangeEvent.Kind.RESERVATION_MODIFIED) == 0


def test_a_modification_older_than_the_cancellation_does_not_revive_it(hotel, ota):
    receive(ota, message(hotel, revision="1", revised_at=T0))
    receive(ota, message(hotel, InboundKind.CANCEL, revision="3", revised_at=T0 + timedelta(2)))
    late = receive(
        ota, message(hotel, InboundKind.MODIFY, revision="2", revised_at=T0 + timedelta(1))
    )

    assert late.status == Status.SUPERSEDED
    assert Reservation.objects.get().status == Reservation.Status.CANCELLED
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]


def test_a_cancellation_before_its_booking_waits_and_applies_when_the_booking_comes(hotel, ota):
    cancel = receive(
        ota, message(hotel, InboundKind.CANCEL, revision="2", revised_at=T0 + timedelta(1))
    )
    assert cancel.status == Status.HELD and cancel.error_code == "not_received"

    booked = receive(ota, message(hotel, revision="1", revised_at=T0))

    assert booked.status == Status.APPLIED
    cancel.refresh_from_db()
    assert cancel.status == Status.APPLIED
    assert Reservation.objects.get().status == Reservation.Status.CANCELLED
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]


# ---------------------------------------------------------------------- past availability


def test_a_booking_past_availability_is_accepted_and_flagged_overbooked(hotel, ota):
    ext = RoomType.objects.get(hotel=hotel, code="EXT")
    plan = hotel.rate_plans.get(code="BAR")
    for n in range(2):  # both EXT rooms sold by the hotel itself
        reserve_stay(
            hotel=hotel, room_type=ext, rate_plan=plan,
            check_in=hotel.today() + timedelta(days=5), check_out=hotel.today() + timedelta(7),
            adults=2, guest=GuestDetails("Local", f"Guest{n}"), source=Reservation.Source.STAFF,
        )  # fmt: skip

    done = receive(ota, message(hotel, room="EXT"))

    assert done.status == Status.APPLIED
    assert done.reservation.is_overbooked
    assert sold(hotel, "EXT", 5, 2) == [(2, 1), (2, 1)]
    assert (
        RoomNight.objects.filter(stay__reservation=done.reservation, overbooked=True).count() == 2
    )


# ---------------------------------------------------------------------- held messages


def test_an_unmapped_room_is_held_then_applied_once_the_mapping_exists(hotel, ota):
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    plan = hotel.rate_plans.get(code="BAR")
    ChannelProduct.objects.create(connection=ota, room_type=exq, partner_room_id="R-EXQ")
    ChannelProduct.objects.create(
        connection=ota, room_type=exq, rate_plan=plan, partner_room_id="R-EXQ", partner_rate_id="P1"
    )

    held = receive(ota, message(hotel, room="R-EXT", rate="P1"))

    assert held.status == Status.HELD and held.error_code == "unmapped_room"
    assert "'R-EXT'" in held.error
    assert Reservation.objects.count() == 0 and not ChangeEvent.objects.exists()
    assert pending_acks(ota) == []  # not acknowledged as a success

    ext = RoomType.objects.get(hotel=hotel, code="EXT")
    ChannelProduct.objects.create(connection=ota, room_type=ext, partner_room_id="R-EXT")
    ChannelProduct.objects.create(
        connection=ota, room_type=ext, rate_plan=plan, partner_room_id="R-EXT", partner_rate_id="P1"
    )
    assert retry_messages([held]) == {Status.APPLIED: 1}

    held.refresh_from_db()
    assert held.status == Status.APPLIED and held.error == ""
    assert held.reservation.rooms.get().room_type == ext
    assert sold(hotel, "EXT", 5, 2) == [(1, 0), (1, 0)]


def test_an_unmapped_rate_of_a_mapped_room_is_held_with_that_reason(hotel, ota):
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    ChannelProduct.objects.create(connection=ota, room_type=exq, partner_room_id="R-EXQ")

    held = receive(ota, message(hotel, room="R-EXQ", rate="NRF"))

    assert held.status == Status.HELD and held.error_code == "unmapped_rate"
    assert "'NRF'" in held.error and "EXQ" in held.error


def test_a_currency_the_rate_plan_does_not_sell_in_is_held(hotel, ota):
    held = receive(ota, message(hotel, currency="EUR"))
    assert held.status == Status.HELD and held.error_code == "currency_mismatch"
    assert "EUR" in held.error and "INR" in held.error

    unknown = receive(ota, message(hotel, res_id="BK2", currency="euro"))
    assert unknown.status == Status.HELD and unknown.error_code == "unknown_currency"
    assert Reservation.objects.count() == 0


def test_an_unreadable_message_is_kept_raw_and_held(hotel, ota):
    kept = record_malformed(ota, b"<OTA_HotelResNotifRQ><broken", "Not XML at all.")
    again = record_malformed(ota, b"<OTA_HotelResNotifRQ><broken", "Not XML at all.")

    assert again.pk == kept.pk
    assert kept.status == Status.HELD and kept.error_code == "malformed"
    assert kept.raw_body == "<OTA_HotelResNotifRQ><broken"
    assert apply_inbound(kept.pk).status == Status.HELD


def mixed(hotel, kind=InboundKind.NEW, *, revision="1", second="EXT", start=5, nights=2, **kw):
    """A two-room booking: an EXQ room at 900,000 a night and a ``second`` room for one adult."""
    base = message(hotel, kind, revision=revision, start=start, nights=nights, **kw)
    first = base.rooms[0]
    other = InboundRoomStay(
        partner_room_id=second,
        partner_rate_id="BAR",
        check_in=first.check_in,
        check_out=first.check_out,
        adults=1,
        nights=tuple(Night(n.date, 600_000 + i) for i, n in enumerate(first.nights)),
    )
    return InboundReservation(**{**base.__dict__, "rooms": (first, other)})


def stays(reservation) -> list[tuple[str, int, list[int]]]:
    """(room type, adults, nightly prices) of each room stay, in stay order."""
    return [
        (stay.room_type.code, stay.adults, [n.price for n in stay.nights.all()])
        for stay in reservation.rooms.order_by("id")
    ]


def test_rooms_of_different_types_are_one_reservation_with_a_stay_each(hotel, ota):
    done = receive(ota, mixed(hotel))

    assert done.status == Status.APPLIED
    reservation = done.reservation
    assert stays(reservation) == [("EXQ", 2, [900_000, 900_000]), ("EXT", 1, [600_000, 600_001])]
    assert reservation.total_amount == 2 * 900_000 + 1_200_001
    assert not reservation.is_overbooked
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]
    assert sold(hotel, "EXT", 5, 2) == [(1, 0), (1, 0)]
    event = ChangeEvent.objects.get(kind=ChangeEvent.Kind.RESERVATION_CREATED)
    assert event.payload["room_types"] == ["EXQ", "EXT"] and event.payload["rooms"] == 2


def test_a_mixed_booking_past_one_types_availability_is_flagged_on_that_type_only(hotel, ota):
    # EXT has two rooms: fill them, then the mixed booking's EXT room is one too many.
    for n in range(2):
        receive(ota, message(hotel, res_id=f"FILL{n}", room="EXT"))
    done = receive(ota, mixed(hotel, res_id="BK-MIX"))

    reservation = done.reservation
    assert done.status == Status.APPLIED and reservation.is_overbooked
    assert sold(hotel, "EXT", 5, 2) == [(2, 1), (2, 1)]
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]
    flagged = RoomNight.objects.filter(stay__reservation=reservation, overbooked=True)
    assert {n.stay.room_type.code for n in flagged} == {"EXT"} and flagged.count() == 2


def test_a_mixed_booking_modified_moves_each_room_and_reprices_it(hotel, ota):
    receive(ota, mixed(hotel))
    # The second room becomes an EXQ, and the stay moves three days on.
    done = receive(ota, mixed(hotel, InboundKind.MODIFY, revision="2", second="EXQ", start=8))

    assert done.status == Status.APPLIED
    reservation = done.reservation
    assert Reservation.objects.count() == 1 and reservation.version == 2
    assert stays(reservation) == [("EXQ", 2, [900_000, 900_000]), ("EXQ", 1, [600_000, 600_001])]
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXT", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXQ", 8, 2) == [(2, 0), (2, 0)]


def test_a_mixed_booking_sent_again_unchanged_is_no_new_version(hotel, ota):
    receive(ota, mixed(hotel))
    done = receive(ota, mixed(hotel, InboundKind.MODIFY, revision="2"))

    assert done.reservation.version == 2  # the revision noted, the rooms not re-sold
    assert ChangeEvent.objects.filter(kind=ChangeEvent.Kind.RESERVATION_MODIFIED).count() == 1
    assert sold(hotel, "EXT", 5, 2) == [(1, 0), (1, 0)]
    assert stays(done.reservation)[1] == ("EXT", 1, [600_000, 600_001])


def test_a_mixed_booking_losing_a_room_gives_that_room_back(hotel, ota):
    receive(ota, mixed(hotel))
    done = receive(ota, message(hotel, InboundKind.MODIFY, revision="2"))

    assert stays(done.reservation) == [("EXQ", 2, [900_000, 900_000])]
    assert sold(hotel, "EXT", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXQ", 5, 2) == [(1, 0), (1, 0)]


def test_a_mixed_booking_cancelled_frees_every_rooms_dates(hotel, ota):
    for n in range(2):
        receive(ota, message(hotel, res_id=f"FILL{n}", room="EXT"))
    receive(ota, mixed(hotel, res_id="BK-MIX"))
    done = receive(ota, message(hotel, InboundKind.CANCEL, res_id="BK-MIX", revision="2"))

    assert done.reservation.status == Reservation.Status.CANCELLED
    assert not done.reservation.is_overbooked
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]
    assert sold(hotel, "EXT", 5, 2) == [(2, 0), (2, 0)]


def test_a_mixed_booking_sends_the_rooms_left_of_every_type_it_takes(hotel, ota):
    receive(ota, mixed(hotel))
    dispatch(ota)

    sent = {
        item["room_type"]
        for job in SyncJob.objects.filter(connection=ota, kind=SyncJob.Kind.AVAILABILITY)
        for item in job.payload["items"]
    }
    assert sent == {"EXQ", "EXT"}


def test_rooms_on_different_dates_are_held_not_half_booked(hotel, ota):
    base = mixed(hotel)
    first, other = base.rooms
    later = InboundRoomStay(
        **{
            **other.__dict__,
            "check_in": other.check_in + timedelta(days=1),
            "nights": other.nights[1:],
        }
    )
    held = receive(ota, InboundReservation(**{**base.__dict__, "rooms": (first, later)}))

    assert held.status == Status.HELD and held.error_code == "mixed_dates"
    assert Reservation.objects.count() == 0
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]


def test_one_unmapped_room_holds_the_whole_mixed_booking(hotel, ota):
    held = receive(ota, mixed(hotel, second="NOPE"))

    assert held.status == Status.HELD and held.error_code == "unmapped_room"
    assert Reservation.objects.count() == 0
    assert sold(hotel, "EXQ", 5, 2) == [(0, 0), (0, 0)]


def test_the_raw_body_and_a_json_view_of_it_are_kept(hotel, ota):
    xml = b'<OTA_HotelResNotifRQ><HotelReservation ResID="7"/></OTA_HotelResNotifRQ>'
    kept = record_inbound(ota, InboundReservation(**{**message(hotel).__dict__, "raw": xml}))

    assert kept.raw_body == xml.decode()
    assert kept.parsed == {"OTA_HotelResNotifRQ": {"HotelReservation": {"@ResID": "7"}}}
    assert kept.payload["partner_reservation_id"] == "BK100"


def test_a_hostile_xml_body_is_kept_but_never_expanded(hotel, ota):
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    kept = record_inbound(ota, InboundReservation(**{**message(hotel).__dict__, "raw": bomb}))
    assert kept.parsed is None and kept.raw_body == bomb.decode()


# ---------------------------------------------------------------------- echo to other channels


def test_an_ota_booking_reaches_the_pms_and_not_back_to_its_own_channel(hotel, ota, conn):
    receive(ota, message(hotel))

    dispatch(conn)  # IDS Next, the PMS
    dispatch(ota)
    pms_jobs = SyncJob.objects.filter(connection=conn)
    assert pms_jobs.filter(kind=SyncJob.Kind.RES_CREATE).count() == 1
    ota_jobs = SyncJob.objects.filter(connection=ota)
    assert not ota_jobs.filter(kind=SyncJob.Kind.RES_CREATE).exists()
    # The OTA still hears of the rooms it has left to sell.
    assert ota_jobs.filter(kind=SyncJob.Kind.AVAILABILITY).exists()


# ---------------------------------------------------------------------- acknowledgements


@responses.activate
def test_applied_messages_are_acknowledged_after_the_commit(hotel, ota):
    responses.post(f"{OTA_BASE_URL}/ack", json={"ok": True})
    done = receive(ota, message(hotel, ack_token="tok-1"))

    assert [p.message_id for p in pending_acks(ota)] == [done.pk]
    report = acknowledge_pending(ota)

    assert report.accepted == 1 and report.failed == 0
    assert json.loads(responses.calls[0].request.body) == {"accepted": ["tok-1"], "rejected": []}
    done.refresh_from_db()
    assert done.ack_result == InboundMessage.AckResult.ACCEPTED and done.acked_at
    assert pending_acks(ota) == []


@responses.activate
def test_a_message_sent_again_after_its_ack_is_a_no_op_acknowledged_again(hotel, ota):
    # The worker died between the commit and the ack: the partner sends it again.
    responses.post(f"{OTA_BASE_URL}/ack", json={"ok": True})
    receive(ota, message(hotel, ack_token="tok-1"))
    acknowledge_pending(ota)

    again = receive(ota, message(hotel, ack_token="tok-2"))

    assert again.status == Status.APPLIED and again.deliveries == 2
    assert Reservation.objects.count() == 1
    assert events(ChangeEvent.Kind.RESERVATION_CREATED) == 1
    assert [p.reservation.ack_token for p in pending_acks(ota)] == ["tok-2"]


@responses.activate
def test_a_failed_ack_retries_with_the_outbox_backoff(hotel, ota, settings):
    settings.CHANNELS_RETRY_BASE_SECONDS = 10.0
    responses.post(f"{OTA_BASE_URL}/ack", status=503)
    done = receive(ota, message(hotel, ack_token="tok-1"))

    report = acknowledge_pending(ota)

    assert report.failed == 1 and "503" in report.error
    done.refresh_from_db()
    assert done.ack_attempts == 1 and done.acked_at is None and "503" in done.ack_error
    wait = (done.next_ack_at - datetime.now(UTC)).total_seconds()
    assert 4 < wait <= 10  # equal jitter on the first 10 s step
    assert pending_acks(ota) == []  # not before it is due
    InboundMessage.objects.filter(pk=done.pk).update(next_ack_at=datetime.now(UTC))
    responses.replace(responses.POST, f"{OTA_BASE_URL}/ack", json={"ok": True})
    assert acknowledge_pending(ota).accepted == 1


def test_an_ack_is_given_up_once_the_retry_window_ends(hotel, ota, settings):
    settings.CHANNELS_RETRY_MAX_AGE = 3600
    done = receive(ota, message(hotel, ack_token="tok-1"))
    mark_ack_failed([done.pk], "down")
    done.refresh_from_db()
    assert done.ack_result != InboundMessage.AckResult.FAILED and done.next_ack_at is not None
    InboundMessage.objects.filter(pk=done.pk).update(
        received_at=datetime.now(UTC) - timedelta(seconds=3601)
    )
    mark_ack_failed([done.pk], "down")
    done.refresh_from_db()
    assert done.ack_result == InboundMessage.AckResult.FAILED and done.next_ack_at is None


@responses.activate
def test_held_messages_are_rejected_only_when_the_connection_says_so(hotel, ota):
    responses.post(f"{OTA_BASE_URL}/ack", json={"ok": True})
    held = receive(ota, message(hotel, room="NOPE", ack_token="tok-9"))
    assert held.status == Status.HELD
    assert pending_acks(ota) == []

    ota.reject_held = True
    ota.save()
    report = acknowledge_pending(ota)

    assert report.rejected == 1
    sent = json.loads(responses.calls[0].request.body)
    assert sent["accepted"] == [] and sent["rejected"][0]["token"] == "tok-9"
    assert "'NOPE'" in sent["rejected"][0]["reason"]
    held.refresh_from_db()
    assert held.ack_result == InboundMessage.AckResult.REJECTED


@pytest.mark.parametrize("kind", [InboundKind.NEW, InboundKind.MODIFY, InboundKind.CANCEL])
def test_the_contract_round_trips_through_json(hotel, kind):
    value = message(hotel, kind, revised_at=T0, ack_token="t")
    again = InboundReservation.from_json(json.loads(json.dumps(value.to_json())), raw=value.raw)
    assert again == value


def test_the_contract_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="Not an inbound reservation"):
        InboundReservation.from_json({"partner_reservation_id": "1", "revision": "1"})
    with pytest.raises(ValueError, match="reservation id"):
        InboundReservation(partner_reservation_id=" ", revision="1", kind=InboundKind.NEW)
