"""``manage.py restore FILE``: restore a backup, or report what restoring would change."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from backups import service
from backups.progress import Bars


class Command(BaseCommand):
    # The project's system checks (URLs, admin, templates) say nothing about a
    # restore, which checks the database itself (its migrations against the
    # backup's); importing everything they look at was a tenth of its time.
    requires_system_checks: list[str] = []
    help = (
        "Restore a backup (a local file or a name in the backups storage) in one "
        "transaction, after checking its checksum and migrations."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a local path or a name from list_backups")
        parser.add_argument("--mode", choices=service.MODES, default="replace")
        parser.add_argument(
            "--validate-only", action="store_true", help="report what would change; change nothing"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        mode, validate_only = options["mode"], options["validate_only"]
        bars = Bars(self.stderr._out)
        try:
            opener = service.opener_for(options["file"])
            manifest = service.read_manifest(opener)
            self.stdout.write(
                f"Backup of {manifest.created_at} (Pema {manifest.pema_version}): "
                f"{manifest.rows:,} rows in {len(manifest.models)} tables; checksum OK."
            )
            if not validate_only and not options["yes"]:
                self._confirm(mode, manifest)
            report = service.restore(
                options["file"],
                mode=mode,
                validate_only=validate_only,
                progress_factory=bars.factory(),
                manifest=manifest,  # verified above: no second verifying pass
            )
        except service.BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bars.close()
        self._print(report, options["verbosity"])

    def _confirm(self, mode: str, manifest) -> None:
        if not self.stdin_isatty():
            raise CommandError("Restoring needs --yes when not run interactively.")
        what = "REPLACE the rows of" if mode == "replace" else "add missing rows to"
        answer = input(f"This will {what} {len(manifest.models)} tables. Type 'yes' to continue: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Restore cancelled.")

    def stdin_isatty(self) -> bool:
        import sys

        return sys.stdin.isatty()

    def _print(self, report: service.RestoreReport, verbosity: int) -> None:
        verbose = report.validate_only or verbosity > 1
        if verbose:
            self.stdout.write(
                f"{'MODEL':<40} {'BACKUP':>9} {'PRESENT':>9} {'INSERT':>9} "
                f"{'REPLACE':>9} {'SKIP':>9} {'DELETE':>9}"
            )
            for m in report.models:
                self.stdout.write(
                    f"{m.label:<40} {m.in_backup:>9,} {m.present:>9,} {m.insert:>9,} "
                    f"{m.replace:>9,} {m.skip:>9,} {m.delete:>9,}"
                )
        for label, count in report.detached.items():
            self.stdout.write(f"Outside the backup: {count:,} row(s) of {label} detached.")
        if report.validate_only:
            self.stdout.write(
                f"Validated ({report.mode}): would write {report.rows_written:,} rows; "
                "nothing was changed."
            )
        else:
            skipped = sum(m.skip for m in report.models)
            self.stdout.write(
                f"Restored ({report.mode}): {report.rows_written:,} rows written, "
                f"{skipped:,} skipped, in {report.seconds:.1f} s."
            )
