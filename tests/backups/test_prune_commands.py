"""Pruning by day, week and month, and the management commands."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from backups import service
from backups.models import SystemBackup
from bookings.models import Reservation

from .conftest import make_hotel

pytestmark = pytest.mark.django_db


def stamp(year, month, day, hour=2) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=UTC)


def test_plan_prune_keeps_newest_per_day_week_and_month():
    # Two backups a day for 120 days, ending Sunday 2030-06-30.
    end = stamp(2030, 6, 30)
    stamps = {}
    for days in range(120):
        for hour in (2, 14):
            when = end - timedelta(days=days) + timedelta(hours=hour - 2)
            stamps[f"b-{when:%Y%m%d%H}"] = when
    keep = service.plan_prune(stamps, keep_daily=7, keep_weekly=4, keep_monthly=6)
    # Daily: the evening backup of each of the last 7 days.
    daily = {f"b-{(end - timedelta(days=d)):%Y%m%d}14" for d in range(7)}
    # Weekly: newest of the 4 newest ISO weeks (Sundays, the last day of each week).
    weekly = {f"b-{(end - timedelta(weeks=w)):%Y%m%d}14" for w in range(4)}
    # Monthly: newest of June, May, April, March (only four months hold backups).
    monthly = {"b-2030063014", "b-2030053114", "b-2030043014", "b-2030033114"}
    assert keep == daily | weekly | monthly
    assert "b-2030063002" not in keep  # the morning backup loses to the evening one


def test_plan_prune_counts_days_with_backups():
    stamps = {"a": stamp(2030, 1, 1), "b": stamp(2030, 1, 20), "c": stamp(2030, 3, 5)}
    assert service.plan_prune(stamps, keep_daily=2, keep_weekly=0, keep_monthly=0) == {"b", "c"}
    assert service.plan_prune(stamps, keep_daily=0, keep_weekly=0, keep_monthly=0) == set()


def test_prune_deletes_files_and_records(django_capture_on_commit_callbacks):
    store = service.storage()
    names = []
    for day in range(1, 11):
        name = f"pema-203001{day:02d}T023000Z.jsonl.gz"
        names.append(store.save(name, ContentFile(b"x")))
    recorded = SystemBackup.objects.create(
        file_name=names[0], status=SystemBackup.Status.SUCCEEDED, started_at=stamp(2030, 1, 1)
    )
    store.save("unrelated.txt", ContentFile(b"keep me"))
    with django_capture_on_commit_callbacks(execute=True):
        result = service.prune(keep_daily=3, keep_weekly=0, keep_monthly=0)
    assert result.kept == names[-3:]
    assert sorted(result.deleted) == sorted(names[:-3])
    remaining = sorted(store.listdir("")[1])
    assert remaining == sorted([*names[-3:], "unrelated.txt"])
    assert not SystemBackup.objects.filter(pk=recorded.pk).exists()


def test_prune_dry_run_deletes_nothing():
    store = service.storage()
    for day in (1, 2, 3):
        store.save(f"pema-203001{day:02d}T023000Z.jsonl.gz", ContentFile(b"x"))
    out = io.StringIO()
    call_command(
        "prune_backups",
        "--keep-daily",
        "1",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
        "--dry-run",
        stdout=out,
    )
    assert "would delete 2" in out.getvalue()
    assert len(store.listdir("")[1]) == 3


def test_backup_list_and_restore_commands(tmp_path):
    make_hotel()
    out = io.StringIO()
    call_command("backup", "--apps", "bookings", stdout=out)
    assert "rows in" in out.getvalue()
    name = SystemBackup.objects.get().file_name
    out = io.StringIO()
    call_command("list_backups", stdout=out)
    assert name in out.getvalue()

    Reservation.objects.update(special_requests="changed")
    out = io.StringIO()
    call_command("restore", name, "--validate-only", stdout=out)
    assert "nothing was changed" in out.getvalue()
    assert Reservation.objects.filter(special_requests="changed").count() == 3
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", name, stdout=io.StringIO())
    out = io.StringIO()
    call_command("restore", name, "--yes", stdout=out)
    assert "Restored (replace)" in out.getvalue()
    assert not Reservation.objects.filter(special_requests="changed").exists()


def test_backup_to_a_local_file_and_restore_from_it(tmp_path):
    make_hotel()
    path = tmp_path / "move.jsonl"
    call_command("backup", "--no-compress", "--output", str(path), stdout=io.StringIO())
    assert path.read_bytes().startswith(b'{"kind":"header"')
    assert not SystemBackup.objects.exists()
    Reservation.objects.update(special_requests="changed")
    call_command("restore", str(path), "--yes", stdout=io.StringIO())
    assert not Reservation.objects.filter(special_requests="changed").exists()


def test_commands_fail_cleanly(tmp_path):
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", "nope.jsonl.gz", "--yes")
    with pytest.raises(CommandError, match="Unknown app"):
        call_command("backup", "--apps", "nope")
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(CommandError, match="corrupt|truncated"):
        call_command("restore", str(bad), "--yes")
