"""Backup then restore gives back the same rows; damaged, foreign or newer backups are refused."""

from __future__ import annotations

import gzip
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission, User

from backups import archive, registry, service
from backups.models import SystemBackup
from bookings.models import Hotel, Reservation

from .conftest import make_hotel, mutate, raw_delete, snapshot

pytestmark = pytest.mark.django_db


def backup_path(backup: SystemBackup):
    return Path(service.storage().path(backup.file_name))


def test_backup_records_manifest_and_file():
    make_hotel()
    backup = service.create_backup()
    assert backup.status == SystemBackup.Status.SUCCEEDED
    assert service.storage().exists(backup.file_name)
    assert backup.size == service.storage().size(backup.file_name)
    assert backup.counts["bookings.reservation"] == 3
    assert backup.counts["bookings.roomnight"] == 6
    assert backup.manifest["sha256"] == backup.checksum
    assert "bookings" in backup.manifest["migrations"]
    # Dependency order: a model comes after the models it points to.
    order = backup.manifest["models"]
    assert order.index("bookings.hotel") < order.index("bookings.reservation")
    assert order.index("bookings.reservation") < order.index("bookings.reservationroom")
    assert order.index("bookings.roomtype") < order.index("bookings.rateplan_room_types")
    # Never backed up: rebuilt by migrate, or the backup records themselves.
    for label in ("contenttypes.contenttype", "auth.permission", "sessions.session"):
        assert label not in order
    assert not [label for label in order if label.startswith("backups.")]


@pytest.mark.django_db(transaction=True)
def test_restore_replace_gives_back_the_same_rows():
    make_hotel()
    user = User.objects.create_user("clerk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_hotel"))
    before = snapshot()
    backup = service.create_backup()
    mutate()
    user.user_permissions.clear()
    assert snapshot() != before

    report = service.restore(backup, mode="replace")

    assert snapshot() == before
    # Permissions travel by natural key, not by id.
    assert list(user.user_permissions.values_list("codename", flat=True)) == ["view_hotel"]
    assert report.rows_written == backup.rows
    # The sequences moved past the restored ids: a new row gets a fresh id.
    hotel = Hotel.objects.create(code="AFTER", name="After")
    assert hotel.pk > max(pk for pk, *_ in before["bookings.hotel"])
    # The record of the backup survives its own restore.
    assert SystemBackup.objects.filter(pk=backup.pk).exists()


def test_restore_keeps_auto_now_timestamps():
    make_hotel()
    before = list(Reservation.objects.order_by("pk").values_list("created_at", "updated_at"))
    backup = service.create_backup(apps=["bookings"])
    service.restore(backup, mode="replace")
    after = list(Reservation.objects.order_by("pk").values_list("created_at", "updated_at"))
    assert after == before


def test_selective_backup_holds_only_the_chosen_apps():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    assert backup.apps == ["bookings"]
    assert backup.manifest["models"]
    assert all(label.startswith("bookings.") for label in backup.manifest["models"])
    assert "-bookings" in backup.file_name
    # Restoring it leaves other apps alone.
    Group.objects.create(name="made after the backup")
    Reservation.objects.update(special_requests="changed")
    service.restore(backup, mode="replace")
    assert Group.objects.filter(name="made after the backup").exists()
    assert not Reservation.objects.filter(special_requests="changed").exists()


def test_unknown_or_never_backed_up_apps_are_refused():
    with pytest.raises(service.BackupError, match="Unknown app"):
        service.create_backup(apps=["nope"])
    with pytest.raises(service.BackupError, match="never backed up"):
        service.create_backup(apps=["sessions"])


def test_exclude_audit_leaves_out_audit_models_and_tolerates_missing_ones(settings):
    settings.BACKUP_AUDIT_MODELS = [
        "admin.LogEntry",
        "channels.NoSuchModel",
        "bookings.ChangeEvent",
    ]
    make_hotel()
    backup = service.create_backup(exclude_audit=True)
    assert "admin.logentry" not in backup.manifest["models"]
    assert "bookings.changeevent" not in backup.manifest["models"]
    assert "bookings.reservation" in backup.manifest["models"]
    assert backup.manifest["exclude_audit"] is True


@pytest.mark.django_db(transaction=True)
def test_skip_existing_keeps_present_rows_and_adds_missing_ones():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    missing = Reservation.objects.order_by("pk").first().confirmation_number
    mutate()
    report = service.restore(backup, mode="skip-existing")
    assert Reservation.objects.filter(confirmation_number=missing).exists()
    # Rows already present were kept as they are now.
    assert Reservation.objects.filter(special_requests="changed").count() == 2
    assert Hotel.objects.filter(code="NEW").exists()
    by_label = {m.label: m for m in report.models}
    assert by_label["bookings.reservation"].insert == 1
    assert by_label["bookings.reservation"].skip == 2


def test_validate_only_reports_and_changes_nothing():
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    mutate()
    before = snapshot()
    report = service.restore(backup, mode="replace", validate_only=True)
    assert snapshot() == before
    reservation = {m.label: m for m in report.models}["bookings.reservation"]
    assert (reservation.in_backup, reservation.present) == (3, 2)
    assert (reservation.insert, reservation.replace, reservation.delete) == (1, 2, 0)
    hotel = {m.label: m for m in report.models}["bookings.hotel"]
    assert hotel.delete == 1  # the hotel made after the backup
    report = service.restore(backup, mode="skip-existing", validate_only=True)
    reservation = {m.label: m for m in report.models}["bookings.reservation"]
    assert (reservation.insert, reservation.skip) == (1, 2)


def _damaged(backup: SystemBackup, how: str) -> None:
    path = backup_path(backup)
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip":
        data[len(data) // 2] ^= 0xFF
    elif how == "edit":
        plain = gzip.decompress(bytes(data)).replace(b"PEMA-", b"FAKE-", 1)
        data = bytearray(gzip.compress(plain))
    elif how == "drop-trailer":
        lines = gzip.decompress(bytes(data)).splitlines(keepends=True)
        data = bytearray(gzip.compress(b"".join(lines[:-1])))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncate", "truncated|corrupt"),
        ("flip", "corrupt|checksum|truncated"),
        ("edit", "checksum"),
        ("drop-trailer", "manifest is missing"),
    ],
)
def test_damaged_backup_is_refused_and_database_untouched(how, message):
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    mutate()
    before = snapshot()
    _damaged(backup, how)
    with pytest.raises(service.RestoreError, match=message):
        service.restore(backup, mode="replace")
    assert snapshot() == before


def test_not_a_backup_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(service.RestoreError, match="not a Pema backup"):
        service.restore(str(path))


def test_encrypted_backup_round_trip_and_wrong_key(key, settings):
    make_hotel()
    before = snapshot()
    backup = service.create_backup(apps=["bookings"], encrypt=True)
    assert backup.encrypted and backup.file_name.endswith(".enc")
    raw = backup_path(backup).read_bytes()
    assert raw.startswith(archive.ENC_MAGIC)
    assert b"PEMA-" not in raw

    settings.BACKUP_ENCRYPTION_KEY = archive.base64.urlsafe_b64encode(b"x" * 32).decode()
    mutate()
    mutated = snapshot()
    with pytest.raises(service.RestoreError, match="different key"):
        service.restore(backup)
    settings.BACKUP_ENCRYPTION_KEY = ""
    with pytest.raises(service.RestoreError, match="encrypted"):
        service.restore(backup)
    assert snapshot() == mutated

    settings.BACKUP_ENCRYPTION_KEY = key
    service.restore(backup)
    assert snapshot() == before


def test_encrypted_backup_cut_off_is_refused(key):
    make_hotel()
    backup = service.create_backup(apps=["bookings"], encrypt=True)
    path = backup_path(backup)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(service.RestoreError, match="truncated"):
        service.restore(backup)


def test_encrypt_without_key_is_refused():
    with pytest.raises(service.BackupError, match="BACKUP_ENCRYPTION_KEY"):
        service.create_backup(encrypt=True)


@pytest.mark.django_db(transaction=True)
def test_failure_in_the_middle_rolls_everything_back(monkeypatch):
    make_hotel(reservations=5)
    backup = service.create_backup(apps=["bookings"])
    mutate()
    before = snapshot()
    real_insert = service._insert_rows
    calls = {"n": 0}

    def failing_insert(table, layout, rows):
        calls["n"] += 1
        if calls["n"] > 4:
            raise RuntimeError("disk on fire")
        real_insert(table, layout, rows)

    monkeypatch.setattr(service, "_insert_rows", failing_insert)
    with pytest.raises(RuntimeError, match="disk on fire"):
        service.restore(backup, mode="replace")
    assert calls["n"] > 4
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_constraint_failure_is_a_clean_refusal():
    from bookings.models import ChangeEvent, Guest, ReservationRoom, RoomNight
    from tests.factories import GuestFactory

    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    guest = Guest.objects.order_by("pk").first()
    for model in (ChangeEvent, RoomNight, ReservationRoom, Reservation, Guest):
        raw_delete(model.objects.all())
    # A guest made since, under another id but with the e-mail of a backed-up guest.
    GuestFactory(hotel=guest.hotel, email=guest.email)
    before = snapshot()
    with pytest.raises(service.RestoreError, match="rolled back"):
        service.restore(backup, mode="skip-existing")
    assert snapshot() == before


def test_backup_from_newer_code_is_refused():
    make_hotel()
    real = service.applied_migrations

    def ahead(using="default"):
        applied = real(using)
        applied["bookings"] = [*applied["bookings"], "9999_from_the_future"]
        return applied

    with mock.patch.object(service, "applied_migrations", ahead):
        backup = service.create_backup(apps=["bookings"])
    mutate()
    before = snapshot()
    with pytest.raises(service.RestoreError, match="9999_from_the_future"):
        service.restore(backup)
    with pytest.raises(service.RestoreError, match="newer Pema"):
        service.restore(backup, validate_only=True)
    assert snapshot() == before


def test_dependency_order_is_stable_and_complete():
    models = registry.select_models()
    labels = [m._meta.label_lower for m in models]
    assert len(labels) == len(set(labels))
    assert labels == [m._meta.label_lower for m in registry.select_models()]


def test_task_is_idempotent():
    from backups.tasks import run_backup

    make_hotel()
    backup = service.start_backup(apps=["bookings"])
    assert run_backup(backup.pk) == "succeeded"
    backup.refresh_from_db()
    name = backup.file_name
    assert run_backup(backup.pk) == "already done"
    backup.refresh_from_db()
    assert backup.file_name == name
    assert service.storage().listdir("")[1] == [name]
    assert run_backup(987654) == "missing"


def test_deleting_records_removes_files(django_capture_on_commit_callbacks):
    first = service.create_backup(apps=["bookings"])
    second = service.create_backup(apps=["auth"])
    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert not service.storage().exists(first.file_name)
    with django_capture_on_commit_callbacks(execute=True):
        SystemBackup.objects.filter(pk=second.pk).delete()
    assert not service.storage().exists(second.file_name)


def test_nightly_schedule_exists_once_and_respects_edits():
    from importlib import import_module

    from django.apps import apps as global_apps
    from django_celery_beat.models import PeriodicTask

    migration = import_module("backups.migrations.0002_nightly_schedule")
    migration.create_schedule(global_apps, None)
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.task == "backups.nightly_backup"
    task.enabled = False
    task.crontab.hour = "4"
    task.crontab.save()
    task.save()
    migration.create_schedule(global_apps, None)
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert (task.enabled, task.crontab.hour) == (False, "4")
    assert PeriodicTask.objects.filter(task="backups.nightly_backup").count() == 1


def test_nightly_task_backs_up_then_prunes(settings):
    from backups.tasks import nightly_backup

    make_hotel()
    assert nightly_backup().startswith("succeeded")
    backup = SystemBackup.objects.get()
    assert backup.kind == SystemBackup.Kind.SCHEDULED
    assert backup.status == SystemBackup.Status.SUCCEEDED
