"""``manage.py backup``: back up the database (or some apps) to the backups storage or a file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups import service
from backups.progress import Bars


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class Command(BaseCommand):
    help = "Back up Pema's database (all apps, or those named) as one streamed archive."

    def add_arguments(self, parser):
        parser.add_argument("--apps", nargs="+", metavar="APP", help="only these app labels")
        parser.add_argument(
            "--exclude-audit", action="store_true", help="leave out audit and log models"
        )
        parser.add_argument("--no-compress", action="store_true", help="write plain JSON lines")
        parser.add_argument(
            "--encrypt", action="store_true", help="encrypt with BACKUP_ENCRYPTION_KEY"
        )
        parser.add_argument(
            "--output",
            metavar="PATH",
            help="write to this file instead of the backups storage (no record is kept)",
        )

    def handle(self, *args, **options):
        bars = Bars(self.stderr._out)
        try:
            if options["output"]:
                self._to_file(Path(options["output"]), options, bars)
            else:
                backup = service.create_backup(
                    apps=options["apps"],
                    exclude_audit=options["exclude_audit"],
                    compress=not options["no_compress"],
                    encrypt=options["encrypt"],
                    progress_factory=bars.factory(),
                )
                bars.close()
                self.stdout.write(
                    f"Backup {backup.file_name}: {backup.rows:,} rows in "
                    f"{len(backup.counts)} tables, {human_size(backup.size)}, "
                    f"{(backup.duration_ms or 0) / 1000:.1f} s"
                    + (", encrypted" if backup.encrypted else "")
                    + "."
                )
        except service.BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bars.close()

    def _to_file(self, path: Path, options, bars: Bars) -> None:
        key = service.encryption_key(required=True) if options["encrypt"] else None
        if path.exists() and path.is_dir():
            raise CommandError(f"{path} is a directory: give a file name.")
        partial = path.with_name(path.name + ".partial")
        try:
            with open(partial, "wb") as out:
                manifest = service.write_backup(
                    out,
                    apps=options["apps"],
                    exclude_audit=options["exclude_audit"],
                    compress=not options["no_compress"],
                    key=key,
                    progress_factory=bars.factory(),
                )
            # Renamed only when complete, so PATH is never a half-written backup.
            partial.replace(path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {path}: {exc}") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        bars.close()
        self.stdout.write(
            f"Backup {path}: {manifest.rows:,} rows in {len(manifest.counts)} tables, "
            f"{human_size(path.stat().st_size)}."
        )
