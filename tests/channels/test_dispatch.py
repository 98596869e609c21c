"""The dispatcher: events to jobs, coalescing, reservation streams, the outbox gap."""

from datetime import timedelta

from django.utils import timezone

from bookings.ari import AriChanges, apply_ari_update
from bookings.models import ChangeEvent
from bookings.reservations import GuestDetails, cancel_reservation, reserve_stay
from channels.dispatch import dispatch, plan_full_sync
from channels.models import ProcessedEvent, SyncJob


def book(hotel, nights=2, offset=3):
    start = hotel.today() + timedelta(days=offset)
    return reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="EXT"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=start,
        check_out=start + timedelta(days=nights),
        adults=2,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source="booking_engine",
    )


def test_ari_change_becomes_one_coalesced_job_per_kind(hotel, conn):
    start = hotel.today() + timedelta(days=1)
    apply_ari_update(
        hotel, start=start, end=start + timedelta(days=29), changes=AriChanges(price=9000)
    )
    apply_ari_update(
        hotel, start=start, end=start + timedelta(days=29), changes=AriChanges(blocked=1)
    )
    report = dispatch(conn)
    assert report.events == 2
    jobs = list(SyncJob.objects.filter(connection=conn).order_by("id"))
    assert [j.kind for j in jobs] == ["availability", "rates"]
    avail, rates = jobs
    # Two room types, thirty equal days each: one item per room type.
    assert len(avail.payload["items"]) == 2
    # One rate plan x two room types, price equal over the range.
    assert len(rates.payload["items"]) == 2
    assert {i["price"] for i in rates.payload["items"]} == {9000}
    # Run again: nothing new.
    assert dispatch(conn).jobs == 0


def test_reservation_events_become_ordered_jobs_in_their_own_stream(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    job = SyncJob.objects.get(connection=conn, reservation=res)
    assert (job.kind, job.stream) == ("res_create", f"res:{res.pk}")
    # For a PMS the limit is rooms offered, so a booking adds no ARI job.
    assert not SyncJob.objects.filter(connection=conn, stream="ari").exists()


def test_cancel_supersedes_jobs_never_sent(hotel, conn):
    res = book(hotel)
    cancel_reservation(res, source="staff")
    dispatch(conn)
    jobs = {j.kind: j.status for j in SyncJob.objects.filter(reservation=res)}
    assert jobs == {"res_create": "skipped", "res_cancel": "pending"}


def test_cancel_keeps_jobs_that_may_have_reached_the_pms(hotel, conn):
    res = book(hotel)
    dispatch(conn)
    SyncJob.objects.filter(reservation=res).update(attempts=1)
    cancel_reservation(res, source="staff")
    dispatch(conn)
    jobs = {j.kind: j.status for j in SyncJob.objects.filter(reservation=res)}
    assert jobs == {"res_create": "pending", "res_cancel": "pending"}


def test_disabled_directions_make_no_jobs(hotel, conn):
    conn.push_ari = False
    conn.export_reservations = False
    conn.save()
    book(hotel)
    apply_ari_update(hotel, start=hotel.today(), end=hotel.today(), changes=AriChanges(price=1))
    assert dispatch(conn).jobs == 0


def test_outbox_gap_an_event_committing_late_is_not_skipped(hotel, conn):
    """Event A gets the lower id but becomes visible after B was dispatched."""
    today = hotel.today()
    a = apply_ari_update(hotel, start=today, end=today, changes=AriChanges(price=111)).event
    a_row = ChangeEvent.objects.filter(pk=a.pk).values().get()
    ChangeEvent.objects.filter(pk=a.pk).delete()  # "not committed yet"
    apply_ari_update(hotel, start=today, end=today, changes=AriChanges(price=222))
    first = dispatch(conn)
    assert first.events == 1
    assert first.cursor == 0  # B is too recent to move the cursor past
    ChangeEvent.objects.create(**a_row)  # A commits, with its lower id
    second = dispatch(conn)
    assert second.events == 1
    assert ProcessedEvent.objects.filter(connection=conn).count() == 2
    # Once everything is older than the settle window the cursor moves and prunes.
    ChangeEvent.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    third = dispatch(conn)
    assert third.events == 0
    assert third.cursor == ChangeEvent.objects.order_by("-id").first().pk
    assert not ProcessedEvent.objects.filter(connection=conn).exists()


def test_full_sync_covers_the_calendar_in_few_documents(hotel, conn, settings):
    settings.CHANNELS_ARI_BATCH_SIZE = 10
    jobs = plan_full_sync(conn, days=30)
    assert jobs >= 2
    items = [i for j in SyncJob.objects.filter(connection=conn) for i in j.payload["items"]]
    kinds = {i["type"] for i in items}
    assert kinds == {"avail", "restr", "rate"}
    for job in SyncJob.objects.filter(connection=conn, kind="availability"):
        assert job.items <= 10


def test_days_added_at_the_end_of_the_calendar_go_out_with_rates(hotel, conn, settings):
    from bookings.inventory import calendar_horizon, extend_calendar
    from bookings.models import InventoryDay, RateDay

    settings.PEMA_CALENDAR_DAYS = 60
    _, end = calendar_horizon(hotel)
    RateDay.objects.filter(rate_plan__hotel=hotel, date__gt=end - timedelta(days=3)).delete()
    InventoryDay.objects.filter(room_type__hotel=hotel, date__gt=end - timedelta(days=3)).delete()
    dispatch(conn)
    SyncJob.objects.all().delete()
    assert extend_calendar(hotel)
    dispatch(conn)
    kinds = set(SyncJob.objects.values_list("kind", flat=True))
    assert {"availability", "rates"} <= kinds, kinds


def test_a_new_connection_starts_with_a_full_sync_including_rates(hotel):
    # A seeded calendar has prices but no change events: only a full sync sends them.
    from channels.models import Connection

    from .conftest import make_connection

    assert not ChangeEvent.objects.filter(hotel=hotel).exists()
    conn = make_connection(hotel, last_full_sync_at=None)
    report = dispatch(conn)
    kinds = list(SyncJob.objects.filter(connection=conn).values_list("kind", flat=True))
    assert report.jobs == len(kinds) and set(kinds) == {"availability", "rates"}
    rates = [i for j in SyncJob.objects.filter(kind="rates") for i in j.payload["items"]]
    assert {i["room_type"] for i in rates} == {"EXT", "EXQ"}
    assert {i["price"] for i in rates} == {1_000_000}
    synced = Connection.objects.get(pk=conn.pk).last_full_sync_at
    assert synced is not None
    assert dispatch(conn).jobs == 0  # once only
    assert Connection.objects.get(pk=conn.pk).last_full_sync_at == synced


def test_a_connection_first_enabled_later_gets_its_full_sync_then(hotel):
    from .conftest import make_connection

    conn = make_connection(hotel, last_full_sync_at=None, enabled=False)
    dispatch(conn)
    assert not SyncJob.objects.filter(connection=conn).exists()
    conn.enabled = True
    conn.save()
    dispatch(conn)
    assert SyncJob.objects.filter(connection=conn, kind="rates").exists()


def test_a_connection_that_pushes_no_ari_gets_no_full_sync(hotel):
    from .conftest import make_connection

    conn = make_connection(hotel, last_full_sync_at=None, push_ari=False)
    dispatch(conn)
    assert not SyncJob.objects.filter(connection=conn).exists()
