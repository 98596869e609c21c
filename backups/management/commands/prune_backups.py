"""``manage.py prune_backups``: keep the newest backup of recent days, weeks and months."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups import service


class Command(BaseCommand):
    help = "Delete old backups, keeping the newest of each of the last N days, weeks and months."

    def add_arguments(self, parser):
        parser.add_argument("--keep-daily", type=int, default=settings.BACKUP_KEEP_DAILY)
        parser.add_argument("--keep-weekly", type=int, default=settings.BACKUP_KEEP_WEEKLY)
        parser.add_argument("--keep-monthly", type=int, default=settings.BACKUP_KEEP_MONTHLY)
        parser.add_argument("--dry-run", action="store_true", help="only say what would go")

    def handle(self, *args, **options):
        try:
            result = service.prune(
                keep_daily=options["keep_daily"],
                keep_weekly=options["keep_weekly"],
                keep_monthly=options["keep_monthly"],
                dry_run=options["dry_run"],
            )
        except service.BackupError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Would delete" if options["dry_run"] else "Deleted"
        for name in result.deleted:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(
            f"Kept {len(result.kept)} backup(s); {verb.lower()} {len(result.deleted)}."
        )
