"""Backup, restore, list and prune: the one implementation behind commands, admin, API and tasks.

A backup reads every chosen table inside one read-only transaction
(REPEATABLE READ on PostgreSQL) so the file is a consistent snapshot, streams
it into a temporary file and then saves that to the ``backups`` storage
(``STORAGES["backups"]``), so swapping the local folder for S3-compatible
storage is a settings change.

A restore first reads the whole file to check its manifest and checksum and
refuses a backup made by code with migrations this code does not know, all
before it touches the database. It then runs in one transaction: a failure
anywhere (bad row, constraint, dangling reference) leaves the database as it
was. ``replace`` empties the backup's tables (in reverse dependency order) and
loads the rows; ``skip-existing`` keeps rows already present, by primary key.
Rows of tables outside the backup that pointed at deleted rows are handled as
their foreign key's ``on_delete`` says: SET_NULL is applied, CASCADE deletes
them, anything else refuses the restore.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import archive, registry
from .models import SystemBackup

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
ITERATOR_CHUNK = 2000
NAME_PATTERN = re.compile(r"^pema-(\d{8}T\d{6})Z")

Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], Progress]


class BackupError(Exception):
    """A backup, restore or prune could not be done; the message is for the operator."""


class RestoreError(BackupError):
    """A restore was refused or failed; the database is unchanged."""


def storage() -> Storage:
    """The storage that holds backup files (``STORAGES["backups"]``)."""
    return storages["backups"]


def encryption_key(required: bool = False) -> bytes | None:
    """The key from ``BACKUP_ENCRYPTION_KEY``, or None when unset and not required."""
    text = getattr(settings, "BACKUP_ENCRYPTION_KEY", "")
    if not text and not required:
        return None
    try:
        return archive.parse_key(text)
    except archive.EncryptionKeyError as exc:
        raise BackupError(str(exc)) from exc


# --- backing up -----------------------------------------------------------------------------


def file_name_for(created: datetime, *, apps: list[str], compress: bool, encrypt: bool) -> str:
    """``pema-20250131T023000Z[-bookings-channels].jsonl.gz[.enc]``: sortable, says what it is."""
    stem = f"pema-{created.astimezone(UTC):%Y%m%dT%H%M%S}Z"
    if apps:
        stem += "-" + "-".join(sorted(apps))
    return stem + ".jsonl" + (".gz" if compress else "") + (".enc" if encrypt else "")


@contextlib.contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One transaction for the whole read, so the backup is a consistent point in time."""
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def applied_migrations(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    recorder = MigrationRecorder(connections[using])
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(recorder.applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return applied


def write_backup(
    out: IO[bytes],
    *,
    apps: list[str] | None = None,
    exclude_audit: bool = False,
    compress: bool = True,
    key: bytes | None = None,
    progress_factory: ProgressFactory | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> archive.Manifest:
    """Write a backup of the chosen apps (all by default) to the binary stream ``out``."""
    try:
        chosen = registry.select_models(apps, exclude_audit=exclude_audit, using=using)
    except registry.SelectionError as exc:
        raise BackupError(str(exc)) from exc
    by_label = {m._meta.label_lower: m for m in chosen}
    keys = registry.NaturalKeys()

    def rows_of(label: str) -> Iterator[dict[str, Any]]:
        model = by_label[label]
        fields = registry.concrete_fields(model)
        names = [f.attname for f in fields]
        mapped = [(f.attname, keys.mapped_target(f)) for f in fields if keys.mapped_target(f)]
        # Fields from third-party packages may hold Python objects JSON cannot
        # carry (a ZoneInfo for a time-zone field): store their database value,
        # which their to_python reads back.
        custom = [f for f in fields if not type(f).__module__.startswith("django.")]
        queryset = model._base_manager.using(using).order_by("pk").values_list(*names)
        for values in queryset.iterator(chunk_size=ITERATOR_CHUNK):
            row = dict(zip(names, values, strict=True))
            for name, target in mapped:
                row[name] = keys.to_key(target, row[name])
            for f in custom:
                row[f.attname] = f.get_prep_value(row[f.attname])
            yield row

    with _snapshot(using):
        manifest = archive.Manifest(
            format=archive.FORMAT_VERSION,
            created_at=timezone.now().isoformat(),
            pema_version=settings.PEMA_VERSION,
            migrations=applied_migrations(using),
            models=list(by_label),
            apps=sorted(apps or []),
            exclude_audit=exclude_audit,
        )
        progress = None
        if progress_factory:
            total = sum(m._base_manager.using(using).count() for m in chosen)
            progress = progress_factory("Backing up", total)
        return archive.write_archive(
            out, manifest, rows_of, compress=compress, key=key, progress=progress
        )


def start_backup(
    *,
    apps: list[str] | None = None,
    exclude_audit: bool = False,
    compress: bool = True,
    encrypt: bool = False,
    kind: str = SystemBackup.Kind.MANUAL,
    user: Any = None,
) -> SystemBackup:
    """Record a pending backup (checking its options now), to be run by ``run_backup``."""
    try:
        registry.select_models(apps, exclude_audit=exclude_audit)
    except registry.SelectionError as exc:
        raise BackupError(str(exc)) from exc
    if encrypt:
        encryption_key(required=True)
    return SystemBackup.objects.create(
        apps=sorted(apps or []),
        exclude_audit=exclude_audit,
        compressed=compress,
        encrypted=encrypt,
        kind=kind,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def run_backup(
    backup: SystemBackup | int, *, progress_factory: ProgressFactory | None = None
) -> SystemBackup:
    """Make the file of a recorded backup and save it to storage. Idempotent once succeeded."""
    if not isinstance(backup, SystemBackup):
        backup = SystemBackup.objects.get(pk=backup)
    if backup.status == SystemBackup.Status.SUCCEEDED:
        return backup
    started = time.monotonic()
    backup.status = SystemBackup.Status.RUNNING
    backup.started_at = timezone.now()
    backup.error = ""
    backup.save(update_fields=["status", "started_at", "error"])
    try:
        key = encryption_key(required=True) if backup.encrypted else None
        name = file_name_for(
            backup.started_at,
            apps=backup.apps,
            compress=backup.compressed,
            encrypt=backup.encrypted,
        )
        # A temporary file first: the storage may be remote, and a failed
        # backup must never leave a half-written file under a backup's name.
        with tempfile.TemporaryFile(prefix="pema-backup-") as tmp:
            manifest = write_backup(
                tmp,
                apps=backup.apps or None,
                exclude_audit=backup.exclude_audit,
                compress=backup.compressed,
                key=key,
                progress_factory=progress_factory,
            )
            size = tmp.tell()
            tmp.seek(0)
            saved = storage().save(name, File(tmp, name=name))
    except Exception as exc:
        backup.status = SystemBackup.Status.FAILED
        backup.error = str(exc) or exc.__class__.__name__
        backup.finished_at = timezone.now()
        backup.duration_ms = int((time.monotonic() - started) * 1000)
        backup.save(update_fields=["status", "error", "finished_at", "duration_ms"])
        log.exception("Backup %s failed", backup.pk)
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"Backup failed: {backup.error}") from exc
    backup.file_name = saved
    backup.size = size
    backup.checksum = manifest.sha256
    backup.counts = manifest.counts
    backup.manifest = manifest.as_dict()
    backup.status = SystemBackup.Status.SUCCEEDED
    backup.finished_at = timezone.now()
    backup.duration_ms = int((time.monotonic() - started) * 1000)
    backup.save()
    return backup


def create_backup(**options: Any) -> SystemBackup:
    """Record and run a backup now (commands, tests). Options as ``start_backup``."""
    progress_factory = options.pop("progress_factory", None)
    return run_backup(start_backup(**options), progress_factory=progress_factory)


# --- restoring -----------------------------------------------------------------------------------

Opener = Callable[[], contextlib.AbstractContextManager[IO[bytes]]]


def opener_for(source: str | Path | SystemBackup) -> Opener:
    """How to open a backup: a SystemBackup, a local file path, or a name in the storage."""
    if isinstance(source, SystemBackup):
        if source.status != SystemBackup.Status.SUCCEEDED or not source.file_name:
            raise RestoreError(f"Backup #{source.pk} has no file (status {source.status}).")
        name = source.file_name
    else:
        path = Path(source)
        if path.is_file():
            return lambda: open(path, "rb")  # noqa: SIM115 - the caller closes it
        name = str(source)
    if not storage().exists(name):
        raise RestoreError(f"No backup file {name!r} (neither a local file nor in storage).")
    return lambda: storage().open(name, "rb")


@dataclass
class ModelReport:
    """What a restore does (or would do) to one model's table."""

    label: str
    in_backup: int = 0
    present: int = 0
    insert: int = 0
    replace: int = 0
    skip: int = 0
    delete: int = 0


@dataclass
class RestoreReport:
    """The outcome of a restore or of ``--validate-only``."""

    mode: str
    validate_only: bool
    manifest: dict[str, Any]
    models: list[ModelReport] = field(default_factory=list)
    detached: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_written(self) -> int:
        return sum(m.insert + m.replace for m in self.models)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_written"] = self.rows_written
        return data


MODES = ("replace", "skip-existing")


def read_manifest(opener: Opener) -> archive.Manifest:
    """Verify the whole file (checksum, counts, key) and return its manifest."""
    try:
        key = encryption_key()
    except BackupError as exc:
        raise RestoreError(str(exc)) from exc
    try:
        with opener() as raw:
            return archive.verify(raw, key)
    except archive.ArchiveError as exc:
        raise RestoreError(str(exc)) from exc
    except OSError as exc:
        raise RestoreError(f"Cannot read the backup: {exc}") from exc


def check_compatible(manifest: archive.Manifest, using: str = DEFAULT_DB_ALIAS) -> list[type]:
    """Refuse what this code and database cannot take; return the backup's models in order."""
    unknown = [label for label in manifest.models if registry.model_for(label) is None]
    if unknown:
        raise RestoreError(f"The backup holds models this code does not have: {unknown}.")
    refused = [label for label in manifest.models if not registry.is_backupable_label(label)]
    if refused:
        raise RestoreError(f"The backup holds tables that are never restored: {refused}.")
    connection = connections[using]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    apps_in_backup = {label.split(".")[0] for label in manifest.models}
    ahead = [
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        if app in apps_in_backup
        for name in names
        if (app, name) not in loader.disk_migrations
    ]
    if ahead:
        raise RestoreError(
            "The backup was made by a newer Pema: these migrations are unknown to this code: "
            + ", ".join(sorted(ahead))
            + ". Upgrade Pema before restoring it."
        )
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RestoreError("The database has unapplied migrations: run `manage.py migrate` first.")
    return [registry.model_for(label) for label in manifest.models]


def _decode_row(
    model: type[models.Model],
    values: dict[str, Any],
    fields: dict[str, models.Field],
    keys: registry.NaturalKeys,
) -> models.Model:
    kwargs = {}
    for name, value in values.items():
        f = fields.get(name)
        if f is None:
            continue  # a column dropped since the backup was made
        target = keys.mapped_target(f)
        if target is not None:
            pk = keys.to_pk(target, value)
            if value is not None and pk is None and not f.null:
                raise RestoreError(
                    f"{model._meta.label}.{f.name} points to {value}, which this database lacks."
                )
            kwargs[name] = pk
        else:
            kwargs[name] = f.to_python(value)
    return model(**kwargs)


def _insert_batch(model: type[models.Model], objs: list[models.Model], using: str) -> None:
    """Insert rows as they are, primary keys included.

    ``_insert(raw=True)`` is what ``loaddata`` relies on as well: unlike
    ``bulk_create`` it does not run ``pre_save``, so ``auto_now`` timestamps
    keep their backed-up values, and it works for multi-table children.
    """
    connection = connections[using]
    fields = registry.concrete_fields(model)
    size = max(connection.ops.bulk_batch_size(fields, objs), 1)
    for start in range(0, len(objs), size):
        model._base_manager.using(using)._insert(
            objs[start : start + size], fields=fields, raw=True, using=using
        )


def _batches(
    opener: Opener, key: bytes | None, labels: set[str]
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The file's rows as (label, up to BATCH_SIZE rows) runs."""
    with opener() as raw:
        label_now, batch = None, []
        try:
            for label, values in archive.iter_rows(raw, key):
                if label not in labels:
                    raise RestoreError(f"Row of unlisted model {label}.")
                if label != label_now or len(batch) >= BATCH_SIZE:
                    if batch:
                        yield label_now, batch
                    label_now, batch = label, []
                batch.append(values)
        except archive.ArchiveError as exc:
            raise RestoreError(str(exc)) from exc
        if batch:
            yield label_now, batch


def _existing_pks(model: type[models.Model], pks: list[Any], using: str) -> set[Any]:
    return set(model._base_manager.using(using).filter(pk__in=pks).values_list("pk", flat=True))


def restore(
    source: str | Path | SystemBackup,
    *,
    mode: str = "replace",
    validate_only: bool = False,
    progress_factory: ProgressFactory | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> RestoreReport:
    """Restore a backup (or, with ``validate_only``, report what restoring would change)."""
    if mode not in MODES:
        raise RestoreError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
    started = time.monotonic()
    opener = opener_for(source)
    manifest = read_manifest(opener)
    model_list = check_compatible(manifest, using)
    key = encryption_key()
    report = RestoreReport(mode=mode, validate_only=validate_only, manifest=manifest.as_dict())
    by_label = {m._meta.label_lower: m for m in model_list}
    reports = {
        label: ModelReport(label, in_backup=manifest.counts.get(label, 0)) for label in by_label
    }
    report.models = list(reports.values())
    for label, model in by_label.items():
        reports[label].present = model._base_manager.using(using).count()
    progress = progress_factory("Restoring", manifest.rows) if progress_factory else None
    keys = registry.NaturalKeys()
    fields_of = {
        label: {f.attname: f for f in registry.concrete_fields(m)} for label, m in by_label.items()
    }

    try:
        with transaction.atomic(using=using):
            if mode == "replace" and not validate_only:
                for model in reversed(list(by_label.values())):
                    # A raw delete: no cascade into tables outside the backup
                    # (those are settled below, by their on_delete) and no
                    # per-row signals.
                    model._base_manager.using(using).all()._raw_delete(using)
            for label, batch in _batches(opener, key, set(by_label)):
                model = by_label[label]
                objs = [_decode_row(model, values, fields_of[label], keys) for values in batch]
                if validate_only or mode == "skip-existing":
                    existing = _existing_pks(model, [o.pk for o in objs], using)
                else:
                    existing = set()
                rep = reports[label]
                if validate_only:
                    overlap = sum(1 for o in objs if o.pk in existing)
                    if mode == "replace":
                        rep.replace += overlap
                    else:
                        rep.skip += overlap
                    rep.insert += len(objs) - overlap
                else:
                    if existing:
                        objs = [o for o in objs if o.pk not in existing]
                        rep.skip += len(batch) - len(objs)
                    if objs:
                        _insert_batch(model, objs, using)
                    rep.insert += len(objs)
                if progress:
                    progress(len(batch))
            if validate_only:
                for rep in report.models:
                    if mode == "replace":
                        rep.delete = rep.present - rep.replace
                transaction.set_rollback(True, using=using)
            else:
                if mode == "replace":
                    _settle_outside_references(by_label, report, using)
                    for rep in report.models:
                        # Every present row was deleted and every backed-up row
                        # inserted; --validate-only tells which primary keys overlap.
                        rep.delete = rep.present
                connection = connections[using]
                connection.check_constraints()
                _reset_sequences(list(by_label.values()), using)
    except RestoreError:
        raise
    except (DatabaseError, ValueError, TypeError) as exc:
        raise RestoreError(f"The restore failed and was rolled back: {exc}") from exc
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _settle_outside_references(
    restored: dict[str, type[models.Model]], report: RestoreReport, using: str
) -> None:
    """Apply on_delete to rows outside the backup that point at rows no longer present."""
    from django.apps import apps as django_apps

    restored_models = set(restored.values())
    tables = registry.existing_tables(using)
    for model in django_apps.get_models(include_auto_created=True):
        opts = model._meta
        if model in restored_models or not opts.managed or opts.proxy:
            continue
        if opts.db_table not in tables:
            continue
        for f in model._meta.local_concrete_fields:
            if not f.is_relation or f.related_model is None:
                continue
            target = f.related_model._meta.concrete_model
            if target not in restored_models:
                continue
            present = target._base_manager.using(using).filter(
                **{f.target_field.attname: OuterRef(f.attname)}
            )
            dangling = (
                model._base_manager.using(using)
                .filter(**{f"{f.attname}__isnull": False})
                .filter(~Exists(present))
            )
            on_delete = f.remote_field.on_delete
            label = f"{model._meta.label_lower}.{f.name}"
            if on_delete is models.SET_NULL:
                changed = dangling.update(**{f.attname: None})
            elif on_delete is models.CASCADE:
                changed, _ = dangling.delete()
            elif on_delete is models.DO_NOTHING and not f.db_constraint:
                continue
            else:
                count = dangling.count()
                if count:
                    raise RestoreError(
                        f"{count} row(s) of {model._meta.label} ({f.name}) point to rows the "
                        f"backup does not have, and {f.name} is protected: include "
                        f"{model._meta.app_label} in the backup or remove those rows first."
                    )
                continue
            if changed:
                report.detached[label] = report.detached.get(label, 0) + changed


def _reset_sequences(model_list: list[type[models.Model]], using: str) -> None:
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


# --- listing and pruning --------------------------------------------------------------------


@dataclass
class BackupEntry:
    """A backup file in storage, its record (if any) and when it was made."""

    name: str
    size: int | None
    created: datetime | None
    record: SystemBackup | None


def _stamp(name: str) -> datetime | None:
    match = NAME_PATTERN.match(Path(name).name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def list_backups() -> list[BackupEntry]:
    """Every backup file in storage and every record, newest first."""
    store = storage()
    try:
        _dirs, files = store.listdir("")
    except FileNotFoundError:
        files = []
    records = {b.file_name: b for b in SystemBackup.objects.exclude(file_name="")}
    entries: dict[str, BackupEntry] = {}
    for name in files:
        if not NAME_PATTERN.match(name):
            continue
        record = records.get(name)
        created = record.started_at if record and record.started_at else _stamp(name)
        entries[name] = BackupEntry(name, store.size(name), created, record)
    for name, record in records.items():
        entries.setdefault(name, BackupEntry(name, None, record.started_at, record))
    return sorted(
        entries.values(),
        key=lambda e: e.created or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )


def plan_prune(
    stamps: dict[str, datetime], *, keep_daily: int, keep_weekly: int, keep_monthly: int
) -> set[str]:
    """Names to keep: the newest backup of each of the last N days, ISO weeks and months.

    Buckets are counted among days (weeks, months) that have backups, so a
    server that was off for a week still keeps seven daily backups.
    """
    newest_first = sorted(stamps.items(), key=lambda item: item[1], reverse=True)
    rules: list[tuple[int, Callable[[date], Any]]] = [
        (keep_daily, lambda d: d),
        (keep_weekly, lambda d: d.isocalendar()[:2]),
        (keep_monthly, lambda d: (d.year, d.month)),
    ]
    keep: set[str] = set()
    for limit, bucket_of in rules:
        seen: set[Any] = set()
        for name, stamp in newest_first:
            bucket = bucket_of(stamp.date())
            if bucket in seen:
                continue
            if len(seen) >= limit:
                break
            seen.add(bucket)
            keep.add(name)
    return keep


@dataclass
class PruneResult:
    """What pruning kept and deleted."""

    kept: list[str]
    deleted: list[str]


def prune(
    *, keep_daily: int = 7, keep_weekly: int = 4, keep_monthly: int = 6, dry_run: bool = False
) -> PruneResult:
    """Delete backups the daily/weekly/monthly rules do not keep (files and records)."""
    if min(keep_daily, keep_weekly, keep_monthly) < 0:
        raise BackupError("Keep counts cannot be negative.")
    entries = [
        e
        for e in list_backups()
        if e.created is not None
        and e.size is not None
        and (e.record is None or e.record.status == SystemBackup.Status.SUCCEEDED)
    ]
    stamps = {e.name: e.created for e in entries}
    keep = plan_prune(
        stamps, keep_daily=keep_daily, keep_weekly=keep_weekly, keep_monthly=keep_monthly
    )
    deleted = []
    for entry in entries:
        if entry.name in keep:
            continue
        deleted.append(entry.name)
        if dry_run:
            continue
        if entry.record is not None:
            entry.record.delete()  # the post_delete signal removes the file
        else:
            storage().delete(entry.name)
    return PruneResult(kept=sorted(keep), deleted=sorted(deleted))


def delete_file(name: str) -> None:
    """Remove a backup file from storage; a file already gone is fine."""
    if name:
        with contextlib.suppress(FileNotFoundError):
            storage().delete(name)
