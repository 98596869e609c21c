"""``manage.py reconcile_ids [--dry-run]``: queue again reservations that have not reached IDS."""

from django.core.management.base import BaseCommand

from bookings.models import Hotel
from channels.models import Connection
from channels.tasks import deliver_connection, enqueue
from pms.ids import reconcile


class Command(BaseCommand):
    help = "List reservations with no IDS reference or a pending/dead job, and queue them again."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only report.")
        parser.add_argument("--hotel", help="Hotel code.")

    def handle(self, *args, dry_run: bool, hotel: str | None, **options):
        hotel_obj = Hotel.objects.get(code=hotel) if hotel else None
        report = reconcile(hotel=hotel_obj, dry_run=dry_run)
        for number, why in report.found:
            self.stdout.write(f"{number}: {why}")
        if dry_run:
            self.stdout.write(f"{len(report.found)} reservation(s) need attention (dry run).")
            return
        for conn in Connection.objects.filter(provider="ids_next", enabled=True):
            enqueue(deliver_connection, conn.pk)
        self.stdout.write(f"{report.queued} reservation(s) queued again.")
