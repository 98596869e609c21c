"""``manage.py sync_ids --full [--hotel CODE]``: push the next 500 days of ARI to IDS Next."""

from django.core.management.base import BaseCommand, CommandError

from bookings.models import Hotel
from channels.delivery import deliver
from channels.dispatch import dispatch, plan_full_sync
from channels.models import Connection


class Command(BaseCommand):
    help = "Send pending changes to IDS Next now; with --full, the whole calendar."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Queue the whole calendar.")
        parser.add_argument("--hotel", help="Only this hotel's connection (hotel code).")
        parser.add_argument(
            "--queue-only", action="store_true", help="Queue the jobs; let the workers send them."
        )

    def handle(self, *args, full: bool, hotel: str | None, queue_only: bool, **options):
        conns = Connection.objects.filter(provider="ids_next", enabled=True).select_related("hotel")
        if hotel:
            if not Hotel.objects.filter(code=hotel).exists():
                raise CommandError(f"Unknown hotel code {hotel!r}.")
            conns = conns.filter(hotel__code=hotel)
        if not conns:
            raise CommandError("No enabled IDS Next connection (see ensure_ids_connection).")
        for conn in conns:
            report = dispatch(conn)
            jobs = plan_full_sync(conn) if full else 0
            self.stdout.write(f"{conn.hotel.code}: {report.jobs + jobs} job(s) queued.")
            if queue_only:
                continue
            while True:
                result = deliver(conn.pk, budget_seconds=600)
                if not result.claimed or not result.delivered:
                    break
                self.stdout.write(f"  delivered {result.delivered}")
            self.stdout.write(
                f"  failed {result.failed}, dead {result.dead}; "
                f"pending {conn.jobs.filter(status='pending').count()}."
            )
