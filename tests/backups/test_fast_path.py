"""The fast restore path: every value comes back exactly, older layouts still load, and the
checks that used to come from the ORM (checksum, foreign keys, one transaction) still hold."""

from __future__ import annotations

import datetime
import decimal
import gzip
import hashlib
import json
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django_celery_beat.models import CrontabSchedule, SolarSchedule

from backups import archive, registry, service
from bookings.models import (
    ChangeEvent,
    Hotel,
    RateDay,
    RatePlan,
    Reservation,
    Room,
    RoomType,
)
from tests.factories import GuestFactory, HotelFactory

from .conftest import ReservationFactory, make_hotel, raw_delete, snapshot

pytestmark = pytest.mark.django_db

# Characters COPY's text format escapes, and some that JSON escapes.
AWKWARD = 'tab\there, new\nline, cr\r, back\\slash, \\N, "quoted", ünïcödé ✓ 🛎️, \x01'
KOLKATA = ZoneInfo("Asia/Kolkata")
APPS = ["bookings", "django_celery_beat", "auth", "admin"]


def backup_path(backup) -> Path:
    return Path(service.storage().path(backup.file_name))


def rewrite(path: Path, change) -> None:
    """Re-write a backup's records through ``change(record) -> record | None`` (None drops it),
    with a fresh, valid checksum, as a file made by another writer would be."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    records = [json.loads(line) for line in lines[:-1]]
    trailer = json.loads(lines[-1])
    out, counts = [], {}
    for record in records:
        if "m" in record:
            record = change(record)
            if record is None:
                continue
            counts[record["m"]] = counts.get(record["m"], 0) + 1
        # json.dumps' own layout (spaces, key order as given): not the writer's.
        out.append((json.dumps(record) + "\n").encode())
    trailer["sha256"] = hashlib.sha256(b"".join(out)).hexdigest()
    trailer["counts"] = {label: counts.get(label, 0) for label in trailer["counts"]}
    trailer["rows"] = sum(counts.values())
    out.append((json.dumps(trailer) + "\n").encode())
    path.write_bytes(gzip.compress(b"".join(out)))


def awkward_data() -> list[type[models.Model]]:
    """Rows holding every kind of value the restore converts; returns the models involved."""
    hotel = HotelFactory(
        code="ODD",
        address=AWKWARD,
        amenities=["wifi", {"pool": True, "hours": [6, 22.5], "note": AWKWARD, "none": None}],
        images="a JSON string, not a list",
        check_in_time=datetime.time(14, 30, 15, 123456),
    )
    Hotel.objects.filter(pk=hotel.pk).update(
        created_at=datetime.datetime(2031, 3, 4, 5, 6, 7, 890123, tzinfo=KOLKATA)
    )
    # A big id (past 2**31) and the plain JSON scalars.
    big = HotelFactory(code="BIG", amenities=0, images={})
    Hotel.objects.filter(pk=big.pk).update(id=2**40 + 7)
    room_type = RoomType.objects.create(hotel=hotel, code="K", name="King ✓", amenities=[None])
    Room.objects.create(hotel=hotel, number="101", room_type=room_type, is_active=False)
    parent = RatePlan.objects.create(hotel=hotel, code="BAR", name="Best", currency="INR")
    RatePlan.objects.create(
        hotel=hotel,
        code="NRF",
        name="Non-refundable",
        currency="INR",
        parent=parent,
        refundable=False,
    )
    RateDay.objects.create(
        rate_plan=parent,
        room_type=room_type,
        date=datetime.date(2030, 2, 28),
        price=None,
        closed_to_arrival=True,
    )
    RateDay.objects.create(
        rate_plan=parent,
        room_type=room_type,
        date=datetime.date(2030, 3, 1),
        price=2_147_483_647,
    )
    reservation = ReservationFactory(
        hotel=hotel,
        guest=GuestFactory(hotel=hotel, first_name="Zoë", last_name=AWKWARD),
        special_requests=AWKWARD,
        cancelled_at=datetime.datetime(2030, 1, 1, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    )
    ChangeEvent.objects.create(
        hotel=hotel,
        kind=ChangeEvent.Kind.RESERVATION_CREATED,
        reservation=None,
        payload={"nested": {"list": [1, "two", None, False, 1.5e-7]}, "text": AWKWARD},
    )
    ChangeEvent.objects.create(
        hotel=hotel,
        kind=ChangeEvent.Kind.RESERVATION_CREATED,
        reservation=reservation,
        payload=[],
        created_at=datetime.datetime(2030, 6, 1, 0, 0, tzinfo=KOLKATA),
    )
    # A decimal field and a third-party field (a time zone), from django-celery-beat.
    SolarSchedule.objects.create(
        event="sunrise",
        latitude=decimal.Decimal("12.971600"),
        longitude=decimal.Decimal("-77.5946"),
    )
    CrontabSchedule.objects.create(minute="5", hour="4", timezone=KOLKATA)
    # A natural key (content type) and a nullable foreign key left empty.
    user = User.objects.create_user("night-auditor", first_name=AWKWARD[:30], last_login=None)
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Hotel),
        object_id=str(hotel.pk),
        object_repr=AWKWARD[:200],
        action_flag=ADDITION,
        change_message=AWKWARD,
    )
    return registry.select_models(APPS)


def emptied(models_: list[type[models.Model]]) -> None:
    for model in reversed(registry.dependency_order(models_)):
        raw_delete(model._base_manager.all())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["replace", "skip-existing"])
def test_every_kind_of_value_comes_back_exactly(mode):
    models_ = awkward_data()
    before = snapshot(models_)
    backup = service.create_backup(apps=APPS)
    emptied(models_)
    assert snapshot(models_) != before
    report = service.restore(backup, mode=mode)
    assert snapshot(models_) == before
    assert report.rows_written == backup.rows
    # The sequence moved past the big id.
    assert Hotel.objects.create(code="NEXT", name="Next").pk > 2**40 + 7


def test_validate_only_decodes_every_row_and_changes_nothing():
    models_ = awkward_data()
    backup = service.create_backup(apps=APPS)
    before = snapshot(models_)
    report = service.restore(backup, mode="skip-existing", validate_only=True)
    assert snapshot(models_) == before
    assert sum(m.skip for m in report.models) == backup.rows
    assert report.rows_written == 0


FIELD_VALUES = [
    (models.BigIntegerField(), 2**62),
    (models.BooleanField(), False),
    (models.CharField(max_length=10), AWKWARD),
    (models.TextField(null=True), None),
    (models.DateField(), "2030-02-28"),
    (models.TimeField(), "14:30:15.123456"),
    (models.DateTimeField(), "2030-01-01T23:59:59.999999+05:30"),
    (models.DateTimeField(), "2030-01-01T00:00:00+00:00"),
    (models.DecimalField(max_digits=9, decimal_places=4), "-77.5946"),
    (models.UUIDField(), str(uuid.UUID(int=12345))),
    (models.DurationField(), "1 02:03:04.000005"),
    (models.BinaryField(), "AAEC/w=="),
    (models.GenericIPAddressField(), "2001:db8::1"),
    (models.JSONField(), {"a": [1, None, "ü"]}),
    (models.JSONField(), "just a string"),
    (models.JSONField(null=True), None),
    (models.FloatField(), 1.5e-7),
]


@pytest.mark.parametrize(("field", "value"), FIELD_VALUES, ids=lambda v: type(v).__name__)
def test_converted_values_are_what_an_orm_insert_sends(field, value):
    field.set_attributes_from_name("f")
    convert = service._converter(field, registry.NaturalKeys(), connection, Hotel)
    orm = field.get_db_prep_save(field.to_python(value), connection)
    fast = value if convert is None else convert(value)
    iso = datetime.datetime | datetime.date | datetime.time
    if connection.vendor == "postgresql" and isinstance(orm, iso):
        # Passed as ISO text, which PostgreSQL itself parses into the same value.
        assert isinstance(fast, str)
        assert type(orm).fromisoformat(fast) == orm
    elif hasattr(orm, "obj"):  # psycopg's Jsonb wrapper
        # Or, on PostgreSQL, the JSON text it would send, which the server parses.
        assert (json.loads(fast) if isinstance(fast, str) else fast.obj) == orm.obj
    else:
        assert fast == orm
        # Same kind of value (psycopg's Int8 and friends are ints).
        assert isinstance(fast, bool) == isinstance(orm, bool)
        assert isinstance(fast, str) == isinstance(orm, str)


def test_row_lines_are_byte_identical_to_the_original_layout():
    fields = {"id": 1, "text": AWKWARD, "when": datetime.date(2030, 1, 1), "j": {"k": [None]}}
    label = "bookings.reservation"
    assert archive.encode_row(archive.row_prefix(label), fields) == archive.encode_line(
        {"m": label, "f": fields}
    )


@pytest.mark.django_db(transaction=True)
def test_a_file_with_another_line_layout_still_restores():
    make_hotel()
    before = snapshot()
    backup = service.create_backup(apps=["bookings"])
    # Keys in another order and json.dumps' spacing: every row takes the slow path.
    rewrite(backup_path(backup), lambda r: {"f": r["f"], "m": r["m"]})
    raw_delete(ChangeEvent.objects.all())
    service.restore(backup, mode="replace")
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_columns_added_or_dropped_since_the_backup():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])

    def older_schema(record):
        if record["m"] == "bookings.reservation":
            del record["f"]["special_requests"]  # a column added since: gets its default
            record["f"]["dropped_since"] = 42  # a column dropped since: ignored
        return record

    rewrite(backup_path(backup), older_schema)
    service.restore(backup, mode="replace")
    assert Reservation.objects.count() == 3
    assert set(Reservation.objects.values_list("special_requests", flat=True)) == {""}


@pytest.mark.django_db(transaction=True)
def test_a_row_pointing_nowhere_rolls_back_and_keeps_the_constraints():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])

    def dangling(record):
        if record["m"] == "bookings.reservation":
            record["f"]["guest_id"] = 987654321
        return record

    rewrite(backup_path(backup), dangling)
    Reservation.objects.update(special_requests="changed")
    before, constraints = snapshot(), foreign_keys()
    with pytest.raises(service.RestoreError, match="rolled back"):
        service.restore(backup, mode="replace")
    assert snapshot() == before
    assert foreign_keys() == constraints


@pytest.mark.django_db(transaction=True)
def test_foreign_keys_are_the_same_after_a_replace():
    make_hotel()
    constraints = foreign_keys()
    backup = service.create_backup()
    service.restore(backup, mode="replace")
    assert foreign_keys() == constraints


def foreign_keys() -> list[tuple]:
    """Every foreign-key constraint with its definition (PostgreSQL), or SQLite's list."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
            )
            return cursor.fetchall()
        return sorted(
            (table, *row)
            for table in connection.introspection.table_names(cursor)
            for row in cursor.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
        )


def test_a_file_changed_after_it_was_verified_is_refused_before_commit():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    manifest = service.read_manifest(service.opener_for(backup))
    path = backup_path(backup)
    plain = gzip.decompress(path.read_bytes()).replace(b"PEMA-", b"FAKE-", 1)
    path.write_bytes(gzip.compress(plain))
    Reservation.objects.update(special_requests="changed")
    before = snapshot()
    with pytest.raises(service.RestoreError, match="changed while"):
        service.restore(backup, mode="replace", manifest=manifest)
    assert snapshot() == before


def test_reading_holds_a_bounded_number_of_rows_at_a_time():
    """Memory must not grow with a table: runs and batches stay within their size."""
    import io

    manifest = archive.Manifest(
        format=archive.FORMAT_VERSION,
        created_at="2030-01-01T00:00:00+00:00",
        pema_version="test",
        migrations={},
        models=["bookings.guest", "bookings.reservation"],
        apps=[],
        exclude_audit=False,
    )
    out = io.BytesIO()
    archive.write_archive(out, manifest, lambda label: ({"id": i, "t": AWKWARD} for i in range(50)))
    data = out.getvalue()
    assert archive.verify(io.BytesIO(data), None).rows == 100
    assert max(len(lines) for _, lines in archive._runs(io.BytesIO(data), None, 7)) == 7
    batches = list(archive.read_batches(io.BytesIO(data), None, manifest, 7))
    assert max(len(rows) for _, rows in batches) == 7
    assert sum(len(rows) for _, rows in batches) == 100
    assert batches[0][1][0] == {"id": 0, "t": AWKWARD}


def indexes() -> list[tuple]:
    """Every index with its definition (PostgreSQL), or SQLite's."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' ORDER BY 1, 2"
            )
        else:
            cursor.execute("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'")
        return sorted(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_indexes_are_the_same_after_a_replace_and_after_a_failed_one():
    make_hotel()
    before = indexes()
    backup = service.create_backup()
    service.restore(backup, mode="replace")
    assert indexes() == before
    # The rebuilt indexes hold every restored row: lookups through them find them.
    reservation = Reservation.objects.order_by("pk").first()
    assert Reservation.objects.get(confirmation_number=reservation.confirmation_number)

    def twin_external_ids(record):
        # Two reservations with one channel id: the conditional unique index a
        # replace rebuilds after the load refuses them, and the restore rolls back.
        if record["m"] == "bookings.reservation":
            record["f"]["source_channel"], record["f"]["external_id"] = "ota", "SAME-1"
        return record

    rewrite(backup_path(backup), twin_external_ids)
    rows = snapshot()
    with pytest.raises(service.RestoreError, match="rolled back"):
        service.restore(backup, mode="replace")
    assert snapshot() == rows
    assert indexes() == before
