"""PMS sync through the shared layer, driven by the mock PMS: bookings, rooms, guests, log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from bookings.models import ChangeEvent, Guest, InventoryDay, Reservation, Room, RoomBlock
from channels.interface import HousekeepingStatus, Occupancy, PmsRoom
from pms import sync
from pms.models import PmsSyncLog
from pms.schedules import ensure_pms_schedules

from .conftest import mock_connection

pytestmark = pytest.mark.django_db


def test_a_bookings_sync_imports_the_pms_reservations_as_pms_reservations(hotel, mock):
    log = sync.sync_now(mock, "bookings", correlation_id="corr-1")
    assert (log.status, log.entity, log.operation) == ("completed", "booking", "manual")
    assert log.processed == 10 and log.failed == 0
    assert log.correlation_id == "corr-1"
    reservations = Reservation.objects.filter(hotel=hotel, source_channel="mock")
    assert reservations.count() == 10
    first = reservations.get(external_id="MOCK-1")
    assert (first.source, first.pms_reference) == (Reservation.Source.PMS, "MOCK-1")
    sold = sum(InventoryDay.objects.filter(room_type__hotel=hotel).values_list("sold", flat=True))
    assert sold == sum(r.check_out.toordinal() - r.check_in.toordinal() for r in reservations)
    # Run again: the same revisions, nothing new, nothing doubled.
    again = sync.sync_now(mock, "bookings")
    assert again.processed == 10 and again.summary == {"unchanged": 10}
    assert reservations.count() == 10


def test_the_limit_bounds_a_run(hotel, mock):
    log = sync.sync_now(mock, "bookings", limit=3)
    assert log.processed == 3
    assert Reservation.objects.filter(hotel=hotel).count() == 3


def test_rooms_are_matched_by_number_with_housekeeping_occupancy_and_pms_id(hotel, mock):
    log = sync.sync_now(mock, "rooms")
    assert (log.status, log.processed, log.failed) == ("completed", 5, 0)
    room = Room.objects.get(hotel=hotel, number="101")
    assert room.pms_id == "MR-101"
    reported = {r.number: r for r in mock.get_provider().rooms()}
    assert room.housekeeping_status == reported["101"].housekeeping
    assert room.occupancy == reported["101"].occupancy


def test_an_unknown_room_number_counts_as_failed(hotel):
    conn = mock_connection(hotel, room_numbers="101,999")
    log = sync.sync_now(conn, "rooms")
    assert (log.processed, log.failed) == (1, 1)
    assert log.summary["unknown"] == ["999"]


def test_an_out_of_order_room_blocks_one_room_of_its_type_and_is_released_when_cleared(hotel):
    conn = mock_connection(hotel, out_of_order="102")
    today = hotel.today()
    sync.sync_now(conn, "rooms")
    block = RoomBlock.objects.get(room__number="102", released_at=None)
    assert block.reason == "Out of order (mock)"
    day = InventoryDay.objects.get(room_type__code="EXQ", room_type__hotel=hotel, date=today)
    assert (day.total, day.blocked) == (3, 1)
    assert ChangeEvent.objects.filter(hotel=hotel, kind="ari.changed").exists()
    sync.sync_now(conn, "rooms")  # still out of order: the same block, not a second one
    assert RoomBlock.objects.filter(room__number="102").count() == 1
    conn.settings = {**conn.settings, "out_of_order": ""}
    conn.save()
    sync.sync_now(conn, "rooms")
    block.refresh_from_db()
    assert block.released_at is not None
    day.refresh_from_db()
    assert day.blocked == 0


def test_out_of_order_dates_from_the_pms_are_blocked_as_given(hotel, mock):
    today = hotel.today()
    room = PmsRoom(
        pms_id="X",
        number="201",
        housekeeping=HousekeepingStatus.OUT_OF_ORDER,
        occupancy=Occupancy.VACANT,
        out_of_order_from=today + timedelta(days=2),
        out_of_order_to=today + timedelta(days=4),
        reason="Leaking pipe",
    )
    assert sync.apply_rooms(mock, [room])["blocked"] == 1
    blocked = InventoryDay.objects.filter(room_type__code="EXT", blocked=1).values_list(
        "date", flat=True
    )
    assert sorted(blocked) == [today + timedelta(days=n) for n in (2, 3, 4)]


def test_guests_merge_by_email_never_duplicated(hotel, mock):
    profile = mock.get_provider().guests()[0]
    Guest.objects.create(hotel=hotel, first_name="Old", last_name="Name", email=profile.email)
    log = sync.sync_now(mock, "guests")
    assert (log.status, log.processed) == ("completed", 10)
    assert log.summary["updated"] == 1 and log.summary["created"] == 9
    guest = Guest.objects.get(hotel=hotel, email=profile.email)
    assert (guest.first_name, guest.pms_id) == (profile.given_name, profile.pms_id)
    assert (guest.loyalty_tier, guest.total_stays) == (profile.loyalty_tier, profile.total_stays)
    sync.sync_now(mock, "guests")
    assert Guest.objects.filter(hotel=hotel).count() == 10


def test_a_provider_that_cannot_sync_an_entity_says_so(hotel, mock, monkeypatch):
    from partners.mock.provider import MockProvider

    monkeypatch.setattr(MockProvider, "pms_entities", frozenset({"bookings"}))
    with pytest.raises(sync.NotSyncable, match="does not support syncing rooms"):
        sync.start_sync(mock, "rooms")


def test_a_sync_completed_event_is_recorded_for_the_booking_engine_webhooks(hotel, mock):
    log = sync.sync_now(mock, "guests")
    event = ChangeEvent.objects.get(hotel=hotel, kind="pms.sync.completed")
    assert event.payload["sync_log_id"] == log.pk
    assert event.payload["processed"] == 10


def test_a_pms_connection_gets_a_crontab_per_entity(hotel, mock):
    ensure_pms_schedules(mock)
    tasks = {t.name: t for t in PeriodicTask.objects.filter(name__startswith=f"pms-{mock.pk}-")}
    assert set(tasks) == {f"pms-{mock.pk}-{e}" for e in ("bookings", "rooms", "guests")}
    rooms = tasks[f"pms-{mock.pk}-rooms"]
    assert rooms.crontab.minute == "*/15" and rooms.task == "pms.tasks.scheduled_sync"
    # Staff edit it (the seed's example); running the setup again keeps their edit.
    rooms.crontab.minute, rooms.crontab.hour = "0", "*/6"
    rooms.crontab.save()
    ensure_pms_schedules(mock)
    rooms.refresh_from_db()
    assert (rooms.crontab.minute, rooms.crontab.hour) == ("0", "*/6")


def test_the_scheduled_task_fetches_what_changed_since_the_last_run(hotel, mock):
    from pms.tasks import scheduled_sync

    scheduled_sync(mock.pk, "bookings")
    scheduled_sync(mock.pk, "bookings")
    runs = list(PmsSyncLog.objects.filter(connection=mock).order_by("id"))
    assert [r.operation for r in runs] == ["fetch", "fetch"]
    assert runs[1].since == runs[0].started_at
    assert runs[1].processed == 0  # nothing generated changed after the first run


@pytest.mark.parametrize("entity", ["bookings", "rooms", "guests"])
def test_ids_next_says_it_does_not_support_pms_syncs(hotel, entity):
    from tests.ids_connection import make_connection

    ids = make_connection(hotel)
    with pytest.raises(sync.NotSyncable, match=f"IDS Next .* does not support syncing {entity}"):
        sync.start_sync(ids, entity)
