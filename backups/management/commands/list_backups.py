"""``manage.py list_backups``: the backup files in storage with their records."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from backups import service
from backups.management.commands.backup import human_size


class Command(BaseCommand):
    help = "List the backups in the backups storage, newest first."

    def handle(self, *args, **options):
        entries = service.list_backups()
        if not entries:
            self.stdout.write("No backups.")
            return
        self.stdout.write(f"{'NAME':<52} {'CREATED (UTC)':<20} {'SIZE':>10} {'ROWS':>10}  STATUS")
        for e in entries:
            record = e.record
            created = f"{e.created:%Y-%m-%d %H:%M:%S}" if e.created else "?"
            rows = f"{record.rows:,}" if record and record.counts else "?"
            if record is None:
                status = "no record"
            elif e.size is None:
                status = f"{record.status}, file missing"
            else:
                status = f"{record.status}, {record.kind}"
            if record and record.encrypted:
                status += ", encrypted"
            self.stdout.write(
                f"{e.name:<52} {created:<20} {human_size(e.size):>10} {rows:>10}  {status}"
            )
        self.stdout.write(f"{len(entries)} backup(s).")
