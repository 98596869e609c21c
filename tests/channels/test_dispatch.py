"""The dispatcher: events to jobs, coalescing, reservation streams, the outbox gap."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings.ari import AriChanges, apply_ari_update
from bookings.models import ChangeEvent
from bookings.reservations import GuestDetails, cancel_reservation, reserve_stay
from channels.coalesce import DirtyDays, dates_between
from channels.dispatch import ari_jobs, dispatch, plan_full_sync
from channels.interface import Capabilities, PricingModel
from channels.models import ProcessedEvent, SyncJob
from channels.providers.base import Provider

from .conftest import make_connection


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


# ------------------------------------------------------------------ the provider's capabilities


class CapsProvider(Provider):
    """A partner whose ``Capabilities`` are the connection's ``settings["caps"]``."""

    key = "test_caps"
    label = "Capabilities test partner"

    def capabilities(self) -> Capabilities:
        caps = dict(self.connection.settings.get("caps") or {})
        if "pricing_model" in caps:
            caps["pricing_model"] = PricingModel(caps["pricing_model"])
        return Capabilities(**caps)

    def ari_wire_messages(self, item: dict) -> int:
        return 3 if item["type"] == "restr" else 1


@pytest.fixture
def caps_conn(hotel, monkeypatch):
    """Make a connection of the capabilities test partner: ``caps_conn(**capabilities)``."""
    from channels import providers

    monkeypatch.setitem(
        providers.PROVIDERS, "test_caps", "tests.channels.test_dispatch.CapsProvider"
    )
    providers.provider_class.cache_clear()

    def make(**caps):
        return make_connection(
            hotel, provider="test_caps", name=f"Caps {caps}", settings={"caps": caps}
        )

    yield make
    providers.provider_class.cache_clear()


def _items(conn, kind: str | None = None) -> list[dict]:
    jobs = SyncJob.objects.filter(connection=conn).order_by("id")
    if kind:
        jobs = jobs.filter(kind=kind)
    return [i for job in jobs for i in job.payload["items"]]


def _sent_days(items: list[dict]) -> set[date]:
    return {
        d
        for i in items
        for d in dates_between(
            date.fromisoformat(i["start"]), date.fromisoformat(i["end"]), i.get("days")
        )
    }


def _all_dirty(hotel, start: date, end: date) -> DirtyDays:
    days = dates_between(start, end)
    dirty = DirtyDays()
    plan = hotel.rate_plans.get(code="BAR")
    for room_type in hotel.room_types.all():
        dirty.avail[room_type.id] = set(days)
        dirty.restr[(plan.id, room_type.id)] = set(days)
        dirty.rates[(plan.id, room_type.id)] = set(days)
    return dirty


def test_nothing_is_sent_beyond_the_partners_horizon(hotel, caps_conn):
    conn = caps_conn(horizon_days=10)
    today = hotel.today()
    apply_ari_update(
        hotel, start=today, end=today + timedelta(days=29), changes=AriChanges(price=7)
    )
    dispatch(conn)
    items = _items(conn)
    assert {i["type"] for i in items} == {"rate"}
    assert max(date.fromisoformat(i["end"]) for i in items) == today + timedelta(days=9)
    assert _sent_days(items) == dates_between(today, today + timedelta(days=9))


def test_a_change_wholly_past_the_horizon_makes_no_job(hotel, caps_conn):
    conn = caps_conn(horizon_days=10)
    start = hotel.today() + timedelta(days=20)
    apply_ari_update(hotel, start=start, end=start, changes=AriChanges(price=7))
    assert dispatch(conn).jobs == 0


def test_nothing_is_sent_before_the_earliest_day_the_partner_accepts(hotel, caps_conn):
    from bookings.inventory import ensure_calendar

    today = hotel.today()
    ensure_calendar(hotel, today - timedelta(days=5), today)
    dirty = _all_dirty(hotel, today - timedelta(days=5), today + timedelta(days=2))
    for past_days, first in ((0, today), (1, today - timedelta(days=1))):
        conn = caps_conn(past_days=past_days)
        items = [i for job in ari_jobs(conn, dirty) for i in job.payload["items"]]
        assert min(date.fromisoformat(i["start"]) for i in items) == first, past_days


def test_documents_hold_at_most_the_partners_items_per_request(hotel, caps_conn, settings):
    settings.CHANNELS_ARI_BATCH_SIZE = 200
    conn = caps_conn(max_items_per_request=4)
    today = hotel.today()
    for n in range(10):  # ten days, each its own price: ten rate items per room type
        day = today + timedelta(days=n)
        apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=1000 + n))
    dispatch(conn)
    jobs = list(SyncJob.objects.filter(connection=conn, kind="rates"))
    assert len(jobs) == 5  # 2 room types x 10 days = 20 items, 4 a document
    assert all(job.items <= 4 for job in jobs)


def test_the_operators_batch_cap_still_holds_below_the_partners(hotel, caps_conn, settings):
    settings.CHANNELS_ARI_BATCH_SIZE = 3
    conn = caps_conn(max_items_per_request=500)
    today = hotel.today()
    for n in range(6):
        day = today + timedelta(days=n)
        apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=1000 + n))
    dispatch(conn)
    assert all(job.items <= 3 for job in SyncJob.objects.filter(connection=conn))


def test_a_document_spans_at_most_the_partners_days_per_request(hotel, caps_conn):
    conn = caps_conn(max_days_per_request=7)
    today = hotel.today()
    apply_ari_update(
        hotel, start=today, end=today + timedelta(days=29), changes=AriChanges(blocked=1)
    )
    dispatch(conn)
    jobs = list(SyncJob.objects.filter(connection=conn, kind="availability"))
    assert len(jobs) >= 5  # 30 equal days are one range without the limit
    for job in jobs:
        days = _sent_days(job.payload["items"])
        assert (max(days) - min(days)).days < 7
    assert _sent_days(_items(conn, "availability")) == dates_between(
        today, today + timedelta(days=29)
    )


def test_a_document_keeps_to_one_calendar_month_when_the_partner_says(hotel, caps_conn):
    conn = caps_conn(calendar_month_per_request=True, max_days_per_request=31)
    today = hotel.today()
    end = today + timedelta(days=35)  # always crosses a month boundary
    apply_ari_update(hotel, start=today, end=end, changes=AriChanges(price=4321))
    dispatch(conn)
    jobs = list(SyncJob.objects.filter(connection=conn, kind="rates"))
    assert len(jobs) >= 2
    for job in jobs:
        months = {(d.year, d.month) for d in _sent_days(job.payload["items"])}
        assert len(months) == 1, job.payload["items"]
    assert _sent_days(_items(conn, "rates")) == dates_between(today, end)


def _weekend_prices(hotel) -> tuple[date, date]:
    start = hotel.today() + timedelta(days=(7 - hotel.today().weekday()))  # next Monday
    end = start + timedelta(days=27)
    apply_ari_update(hotel, start=start, end=end, changes=AriChanges(price=1000))
    apply_ari_update(hotel, start=start, end=end, weekdays={5, 6}, changes=AriChanges(price=1500))
    return start, end


def test_a_partner_without_weekday_patterns_gets_plain_ranges(hotel, caps_conn):
    with_patterns = caps_conn(weekday_patterns=True)
    without = caps_conn(weekday_patterns=False)
    _weekend_prices(hotel)
    dispatch(with_patterns)
    dispatch(without)
    patterned = _items(with_patterns, "rates")
    plain = _items(without, "rates")
    assert any(i.get("days") for i in patterned)
    assert not any("days" in i for i in plain)
    assert len(plain) > len(patterned)
    assert _sent_days(plain) == _sent_days(patterned)


def test_a_per_room_partner_gets_no_extra_guest_prices(hotel, caps_conn):
    per_room = caps_conn(pricing_model="per_room")
    per_occupancy = caps_conn(pricing_model="per_occupancy")
    today = hotel.today()
    apply_ari_update(
        hotel, start=today, end=today + timedelta(days=9), changes=AriChanges(price=5000)
    )
    # Only the extra adult price differs on one day: no reason to split a per-room run.
    odd = today + timedelta(days=4)
    apply_ari_update(hotel, start=odd, end=odd, changes=AriChanges(extra_adult_price=999))
    dispatch(per_room)
    dispatch(per_occupancy)
    room = _items(per_room, "rates")
    occupancy = _items(per_occupancy, "rates")
    assert len(room) == 2  # one a room type
    assert {(i["extra_adult"], i["extra_child"]) for i in room} == {(None, None)}
    assert len(occupancy) > len(room)
    assert 999 in {i["extra_adult"] for i in occupancy}


def test_a_channel_gets_rooms_to_sell_net_of_reservations_a_pms_rooms_offered(hotel, caps_conn):
    channel = caps_conn(nets_reservations=True)
    pms = caps_conn(nets_reservations=False)
    reservation = book(hotel, nights=1, offset=3)
    dispatch(channel)
    dispatch(pms)
    (channel_item,) = [i for i in _items(channel, "availability") if i["room_type"] == "EXT"]
    assert channel_item["start"] == reservation.check_in.isoformat()
    assert channel_item["limit"] == 1  # two EXT rooms, one booked
    # A PMS counts the booking itself: nothing about its rooms offered changed.
    assert not _items(pms, "availability")
    apply_ari_update(
        hotel, start=reservation.check_in, end=reservation.check_in, changes=AriChanges(blocked=0)
    )
    dispatch(pms)
    assert {i["limit"] for i in _items(pms, "availability") if i["room_type"] == "EXT"} == {2}


def test_a_partner_that_takes_no_reservations_gets_no_reservation_jobs(hotel, caps_conn):
    ota = caps_conn(exports_reservations=False)
    pms = caps_conn(exports_reservations=True)
    assert ota.export_reservations and pms.export_reservations  # the model's default
    reservation = book(hotel)
    cancel_reservation(reservation, source="staff")
    dispatch(ota)
    dispatch(pms)
    reservation_kinds = {"res_create", "res_modify", "res_cancel"}
    assert not SyncJob.objects.filter(connection=ota, kind__in=reservation_kinds).exists()
    assert SyncJob.objects.filter(connection=pms, kind__in=reservation_kinds).exists()
    # Its rooms to sell still follow the booking.
    assert _items(ota, "availability")
