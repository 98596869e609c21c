"""Backup, restore, list and prune: the one implementation behind commands, admin, API and tasks.

A backup reads every chosen table inside one read-only transaction
(REPEATABLE READ on PostgreSQL) so the file is a consistent snapshot, streams
it into a temporary file and then saves that to the ``backups`` storage
(``STORAGES["backups"]``), so swapping the local folder for S3-compatible
storage is a settings change.

A restore first reads the whole file to check its manifest and checksum and
refuses a backup made by code with migrations this code does not know, all
before it touches the database. It then runs in one transaction: a failure
anywhere (bad row, constraint, dangling reference, a file changed since it was
verified) leaves the database as it was. ``replace`` empties the backup's
tables (in reverse dependency order) and loads the rows; ``skip-existing``
keeps rows already present, by primary key. Rows of tables outside the backup
that pointed at deleted rows are handled as their foreign key's ``on_delete``
says: SET_NULL is applied, CASCADE deletes them, anything else refuses the
restore.

Rows are not loaded through model instances: each model's backed-up values
become column lists (``_Table``), converted only where a field needs it, and
go in with ``COPY`` on PostgreSQL or ``executemany`` elsewhere. Building a
model instance and running the insert compiler per row cost more than
everything else a restore does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Exists, OuterRef
from django.utils import timezone

from pema.signals import database_restored

from . import archive, registry
from .models import SystemBackup

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
ITERATOR_CHUNK = 5000
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
    missing = RestoreError(f"No backup file {name!r} (neither a local file nor in storage).")
    try:
        if not storage().exists(name):
            raise missing
    except SuspiciousFileOperation as exc:  # a path outside the storage: not one of ours
        raise missing from exc
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


# Field types whose value, as JSON decodes it, is already what the database
# takes: Django's own ``to_python`` and ``get_db_prep_save`` would hand the
# driver the same value (or, for dates and times on PostgreSQL, the ISO text
# the server parses into the same value). Every other field (JSON, decimals,
# UUIDs, durations, binary, third-party fields) goes through those two methods,
# exactly as an ORM insert would. Only Django's own classes qualify: a
# subclass may override either method.
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "BooleanField",
        "FloatField",
        "CharField",
        "TextField",
        "EmailField",
        "SlugField",
        "DateField",
        "TimeField",
    }
)
# PostgreSQL parses an ISO 8601 timestamp with its offset itself; SQLite
# stores text, so there the value is put in Django's format (naive, in the
# connection's time zone) by ``_sqlite_datetime``.
_AS_IS_POSTGRESQL = _AS_IS | {"DateTimeField"}

Converter = Callable[[Any], Any]


def _storage_field(f: models.Field) -> models.Field:
    """The field whose values a column holds: a foreign key's target field, followed to the end."""
    while f.is_relation and f.target_field is not f:
        f = f.target_field
    return f


def _converter(
    f: models.Field, keys: registry.NaturalKeys, connection: Any, model: type[models.Model]
) -> Converter | None:
    """How a backed-up value of ``f`` becomes the value to insert; None when it goes as is."""
    target = keys.mapped_target(f)
    if target is not None:

        def natural(value: Any) -> Any:
            pk = keys.to_pk(target, value)
            if value is not None and pk is None and not f.null:
                raise RestoreError(
                    f"{model._meta.label}.{f.name} points to {value}, which this database lacks."
                )
            return pk

        return natural
    stored = _storage_field(f)
    if type(stored).__module__.startswith("django.db.models."):
        kind = stored.get_internal_type()
        if kind in (_AS_IS_POSTGRESQL if connection.vendor == "postgresql" else _AS_IS):
            return None
        if kind == "DateTimeField" and connection.vendor == "sqlite":
            return _sqlite_datetime(stored, connection)
        if kind == "JSONField" and connection.vendor == "postgresql" and stored.encoder is None:
            # What JSONField.get_db_prep_save gives the driver (json.dumps, None as
            # SQL NULL), as the text COPY sends, without its two wrappers per value.
            return _json_text

    def exact(value: Any) -> Any:
        return f.get_db_prep_save(f.to_python(value), connection)

    return exact


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_datetime(f: models.Field, connection: Any) -> Converter:
    """An aware ISO datetime to SQLite's text, as Django writes it, with the C parser."""
    adapt = connection.ops.adapt_datetimefield_value

    def convert(value: Any) -> Any:
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            # Naive or unusual values: let the field decide (it warns and
            # assumes the default time zone, like an ORM insert).
            return f.get_db_prep_save(f.to_python(value), connection)
        return adapt(parsed)

    return convert


@dataclass
class _Layout:
    """How rows with one set of keys become database rows of one table."""

    columns: list[str]
    pk_index: int
    to_row: Callable[[dict[str, Any]], list[Any]]


class _Table:
    """One model's table as a restore writes it: columns, value conversion, insert and lookup."""

    def __init__(self, model: type[models.Model], keys: registry.NaturalKeys, using: str) -> None:
        self.model = model
        self.connection = connections[using]
        self.fields = registry.concrete_fields(model)
        self.keys = keys
        self.table = self.connection.ops.quote_name(model._meta.db_table)
        self.pk_column = self.connection.ops.quote_name(model._meta.pk.column)
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._complete_layout: _Layout | None = None
        # The COPY a replace on PostgreSQL keeps open across batches (see _CopyStream).
        self.stream: _CopyStream | None = None

    def groups(self, batch: list[dict[str, Any]]) -> list[tuple[_Layout, list[list[Any]]]]:
        """Database rows for a batch of backed-up rows, grouped by the columns they fill.

        Pema's writer gives every row all of its model's columns, so there is one
        group, made by the ``complete`` layout; rows lacking a column (a backup
        older than the column) take the slower layout for their keys.
        """
        complete = self._complete()
        try:
            return [(complete, [complete.to_row(values) for values in batch])]
        except KeyError:
            pass
        groups: list[tuple[_Layout, list[list[Any]]]] = []
        for values in batch:
            names = tuple(values)
            layout = self._layouts.get(names) or self._layout(names)
            if not groups or groups[-1][0] is not layout:
                groups.append((layout, []))
            groups[-1][1].append(layout.to_row(values))
        return groups

    def _complete(self) -> _Layout:
        """The layout for rows holding every column (any other key, a dropped column, ignored).

        Values are picked in column order with one ``itemgetter`` call, which
        raises ``KeyError`` for a row that lacks a column.
        """
        if self._complete_layout is not None:
            return self._complete_layout
        names = [f.attname for f in self.fields]
        pick = itemgetter(*names)
        special = [
            (index, convert)
            for index, f in enumerate(self.fields)
            if (convert := _converter(f, self.keys, self.connection, self.model)) is not None
        ]
        if len(names) == 1:
            name = names[0]

            def to_row(values: dict[str, Any]) -> list[Any]:
                row = [values[name]]
                for index, convert in special:
                    row[index] = convert(row[index])
                return row

        else:

            def to_row(values: dict[str, Any]) -> list[Any]:
                row = list(pick(values))
                for index, convert in special:
                    row[index] = convert(row[index])
                return row

        quote = self.connection.ops.quote_name
        pk_index = names.index(self.model._meta.pk.attname)
        self._complete_layout = _Layout([quote(f.column) for f in self.fields], pk_index, to_row)
        return self._complete_layout

    def _layout(self, names: tuple[str, ...]) -> _Layout:
        layout = self._layouts.get(names)
        if layout is not None:
            return layout
        position = {name: i for i, name in enumerate(names)}
        quote = self.connection.ops.quote_name
        columns: list[str] = []
        # (source index in the backed-up row or None for a default, converter, field)
        plan: list[tuple[int | None, Converter | None, models.Field]] = []
        for f in self.fields:
            if f.attname in position:
                plan.append(
                    (position[f.attname], _converter(f, self.keys, self.connection, self.model), f)
                )
            elif f.db_default is not models.NOT_PROVIDED:
                continue  # a column added since the backup: the database fills it
            else:
                plan.append((None, None, f))  # added since, with a Python default
            columns.append(quote(f.column))
        pk_name = self.model._meta.pk.attname
        if pk_name not in position:
            raise RestoreError(f"Rows of {self.model._meta.label} in the backup have no {pk_name}.")
        pk_index = [f.attname for _, _, f in plan].index(pk_name)
        connection = self.connection

        def to_row(values: dict[str, Any]) -> list[Any]:
            row = []
            items = list(values.values())
            for index, convert, f in plan:
                if index is None:
                    value = f.get_db_prep_save(f.get_default(), connection)
                else:
                    value = items[index]
                    if convert is not None:
                        value = convert(value)
                row.append(value)
            return row

        layout = _Layout(columns, pk_index, to_row)
        self._layouts[names] = layout
        return layout

    def existing(self, pks: list[Any]) -> set[Any]:
        """Which of these primary keys the table holds (normalised by ``pk_key``)."""
        connection = self.connection
        select = f"SELECT {self.pk_column} FROM {self.table} WHERE {self.pk_column}"
        found: set[Any] = set()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One array parameter: a thousand-item IN list costs more to plan.
                pk_type = self.model._meta.pk.rel_db_type(connection)
                if all(type(pk) is int for pk in pks):
                    # Integer keys as an array literal: built in C, where the
                    # driver would adapt a list item by item in Python.
                    param: Any = "{" + ",".join(map(str, pks)) + "}"
                else:
                    param = pks
                # The driver's cursor: with DEBUG on, Django's would also
                # render every query with its thousand keys for its log.
                with connection.wrap_database_errors:
                    cursor.cursor.execute(f"{select} = ANY(%s::{pk_type}[])", [param])
                    found.update(pk_key(pk) for (pk,) in cursor.cursor.fetchall())
                return found
            limit = min(connection.features.max_query_params or BATCH_SIZE, BATCH_SIZE)
            for start in range(0, len(pks), limit):
                chunk = pks[start : start + limit]
                cursor.execute(f"{select} IN ({', '.join(['%s'] * len(chunk))})", chunk)
                found.update(pk_key(pk) for (pk,) in cursor.fetchall())
        return found


def _load(
    table: _Table,
    layout: _Layout,
    rows: list[list[Any]],
    rep: ModelReport,
    *,
    mode: str,
    validate_only: bool,
) -> None:
    """Insert (or, validating, only count) one run of rows, skipping present keys if asked."""
    overlap = 0
    if validate_only or mode == "skip-existing":
        pks = [pk_key(row[layout.pk_index]) for row in rows]
        existing = table.existing(pks)
        if existing:
            keep = [pk not in existing for pk in pks]
            overlap = len(rows) - sum(keep)
            if not validate_only:
                rows = [row for row, new in zip(rows, keep, strict=True) if new]
    if validate_only:
        if mode == "replace":
            rep.replace += overlap
        else:
            rep.skip += overlap
        rep.insert += len(rows) - overlap
        return
    rep.skip += overlap
    if rows:
        _insert_rows(table, layout, rows)
    rep.insert += len(rows)


def pk_key(value: Any) -> Any:
    """A primary key comparable whether it came from a backup row or from the database."""
    return value if type(value) is int else str(value)


def _insert_rows(table: _Table, layout: _Layout, rows: list[list[Any]]) -> None:
    """Insert rows as they are, primary keys included, with no per-row ORM work.

    Like ``loaddata`` (``raw=True``) no ``pre_save`` runs, so ``auto_now``
    timestamps keep their backed-up values. PostgreSQL gets ``COPY``, the
    fastest way in (one kept open across a table's batches when the table has
    a stream), other databases one ``executemany`` per batch.
    """
    if table.stream is not None:
        table.stream.write(table, layout, rows)
        return
    connection = table.connection
    columns = ", ".join(layout.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table.table} ({columns}) FROM STDIN"
            # The driver's own cursor (Django's has no COPY), with its errors
            # turned into Django's DatabaseError like any other query's.
            with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(layout.columns))
            cursor.executemany(f"INSERT INTO {table.table} ({columns}) VALUES ({marks})", rows)


class _CopyStream:
    """One ``COPY`` kept open across consecutive batches of the same table (PostgreSQL).

    A ``COPY`` per batch made the restore wait at every batch's end for the
    server to finish it before decoding the next, so Python and PostgreSQL
    took turns. Kept open, the server stores one batch while the next is
    decoded, on the machine's other core. Only for a replace, whose loading
    asks the database nothing between batches.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._open: tuple[_Table, list[str]] | None = None
        self._stack = contextlib.ExitStack()
        self._copy: Any = None

    def write(self, table: _Table, layout: _Layout, rows: list[list[Any]]) -> None:
        if self._open is None or self._open[0] is not table or self._open[1] != layout.columns:
            self.close()
            sql = f"COPY {table.table} ({', '.join(layout.columns)}) FROM STDIN"
            # The driver's own cursor (Django's has no COPY), with its errors
            # turned into Django's DatabaseError like any other query's.
            cursor = self._stack.enter_context(self.connection.cursor())
            self._stack.enter_context(self.connection.wrap_database_errors)
            self._copy = self._stack.enter_context(cursor.cursor.copy(sql))
            self._open = (table, layout.columns)
        write_row = self._copy.write_row
        for row in rows:
            write_row(row)

    def holds(self, table: _Table) -> bool:
        return self._open is not None and self._open[0] is table

    def close(self) -> None:
        """Finish the open ``COPY`` (the server reports any bad row here)."""
        self._open = self._copy = None
        self._stack.close()

    def abort(self, exc: BaseException) -> None:
        """End the open ``COPY`` as failed, so the transaction rolls back cleanly."""
        self._open = self._copy = None
        self._stack.__exit__(type(exc), exc, exc.__traceback__)


def restore(
    source: str | Path | SystemBackup,
    *,
    mode: str = "replace",
    validate_only: bool = False,
    progress_factory: ProgressFactory | None = None,
    using: str = DEFAULT_DB_ALIAS,
    manifest: archive.Manifest | None = None,
) -> RestoreReport:
    """Restore a backup (or, with ``validate_only``, report what restoring would change).

    ``manifest`` is what ``read_manifest`` returned for the same source, when
    the caller has already verified it (the ``restore`` command shows it before
    asking for confirmation): the file is then not verified a second time. The
    loading pass checks the checksum again before committing either way, so a
    file that changed in between is refused and nothing is written.
    """
    if mode not in MODES:
        raise RestoreError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
    started = time.monotonic()
    opener = opener_for(source)
    if manifest is None:
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
    tables = {label: _Table(model, keys, using) for label, model in by_label.items()}

    try:
        with transaction.atomic(using=using), opener() as raw:
            foreign_keys: list[tuple[str, str, str]] = []
            indexes: list[str] = []
            if mode == "replace" and not validate_only:
                foreign_keys = _set_foreign_keys_aside(list(by_label.values()), using)
                _empty_tables(list(by_label.values()), using)
                indexes = _set_indexes_aside(list(by_label.values()), using)
            connection = connections[using]
            stream = (
                _CopyStream(connection)
                if mode == "replace" and not validate_only and connection.vendor == "postgresql"
                else None
            )
            for table in tables.values():
                table.stream = stream
            try:
                for label, batch in archive.read_batches(raw, key, manifest, BATCH_SIZE):
                    table = tables.get(label)
                    if table is None:
                        raise RestoreError(f"Row of unlisted model {label}.")
                    rep = reports[label]
                    if stream is not None and not stream.holds(table):
                        # Before converting: the first rows of a table may read the
                        # database (natural keys), which an open COPY would block.
                        stream.close()
                    for layout, rows in table.groups(batch):
                        _load(table, layout, rows, rep, mode=mode, validate_only=validate_only)
                    if progress:
                        progress(len(batch))
            except BaseException as exc:
                if stream is not None:
                    stream.abort(exc)
                raise
            if stream is not None:
                stream.close()
            _rebuild_indexes(indexes, using)
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
                _restore_foreign_keys(foreign_keys, using)
                connection.check_constraints()
                _reset_sequences(list(by_label.values()), using)
    except RestoreError:
        raise
    except archive.ArchiveError as exc:
        raise RestoreError(str(exc)) from exc
    except OSError as exc:
        raise RestoreError(f"Cannot read the backup: {exc}") from exc
    except (DatabaseError, ValueError, TypeError) as exc:
        raise RestoreError(f"The restore failed and was rolled back: {exc}") from exc
    report.seconds = round(time.monotonic() - started, 3)
    if not validate_only:
        # Rows came back with COPY/raw inserts, past model signals: tell whoever caches.
        database_restored.send(sender=restore, labels=sorted(by_label))
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


def _set_foreign_keys_aside(
    model_list: list[type[models.Model]], using: str
) -> list[tuple[str, str, str]]:
    """Drop, for the transaction, the foreign keys from and to the tables a replace rewrites.

    PostgreSQL checks a foreign key row by row, one trigger per inserted or
    deleted row, which costs more than the load itself; adding the constraint
    back checks the whole table in one join. It is how ``pg_restore`` loads
    too. The drop is part of the restore's transaction: a failure, or a row
    that points nowhere when a constraint is added back, rolls it back with
    everything else. Returns ``(table, name, definition)`` for
    ``_restore_foreign_keys``. Other databases keep their constraints.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    # Checks still pending from earlier in an enclosing transaction would
    # forbid the ALTER TABLE: run them now.
    connection.check_constraints()
    tables = [m._meta.db_table for m in model_list]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.contype = 'f'
              AND (c.conrelid IN (SELECT to_regclass(quote_ident(t)) FROM unnest(%s::text[]) t)
                OR c.confrelid IN (SELECT to_regclass(quote_ident(t)) FROM unnest(%s::text[]) t))
            ORDER BY 1, 2
            """,
            [tables, tables],
        )
        foreign_keys = cursor.fetchall()
        quote = connection.ops.quote_name
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
    return foreign_keys


def _empty_tables(model_list: list[type[models.Model]], using: str) -> None:
    """Empty the tables a replace rewrites: no cascade into tables outside the backup
    (those are settled after the load, by their on_delete) and no per-row signals.

    PostgreSQL gets one ``TRUNCATE`` (its foreign keys are set aside already):
    rows deleted instead stay in the table and its indexes until a vacuum, and
    every row loaded back under the same key had to be checked against its dead
    twin in each unique index, which cost more than the load itself. Like the
    rest of the restore it is part of the transaction, rolled back on failure.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(quote(m._meta.db_table) for m in model_list))
        return
    for model in reversed(model_list):
        model._base_manager.using(using).all()._raw_delete(using)


def _set_indexes_aside(model_list: list[type[models.Model]], using: str) -> list[str]:
    """Drop the emptied tables' indexes that back no constraint; return how to build them again.

    Building an index once over the loaded rows (a sort) costs less than
    updating it row by row during the load, as ``pg_restore`` does it. Primary
    keys and unique constraints stay, because foreign keys are checked against
    them; a unique index without a constraint (a conditional one) is rebuilt
    and so checked against every row, and a duplicate rolls the restore back.
    PostgreSQL only, inside the restore's transaction.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = [m._meta.db_table for m in model_list]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid IN (SELECT to_regclass(quote_ident(t)) FROM unnest(%s::text[]) t)
              AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def _rebuild_indexes(definitions: list[str], using: str) -> None:
    with connections[using].cursor() as cursor:
        for definition in definitions:
            cursor.execute(definition)


def _restore_foreign_keys(foreign_keys: list[tuple[str, str, str]], using: str) -> None:
    """Add back what ``_set_foreign_keys_aside`` dropped, each checked against every row."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


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
