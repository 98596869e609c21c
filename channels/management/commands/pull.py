"""Pull reservations now: ``manage.py pull [--connection ID]`` (default: every pull connection)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from channels.models import Connection
from channels.pull import pull_connection, pull_connections


class Command(BaseCommand):
    help = "Read, apply and acknowledge the reservations partners hold for Pema."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--connection", type=int, help="Only this connection id.")

    def handle(self, *args, **options) -> None:
        wanted = options["connection"]
        if wanted is not None and not Connection.objects.filter(pk=wanted).exists():
            raise CommandError(f"No connection #{wanted}.")
        ids = pull_connections(wanted)
        if wanted is not None and not ids:
            raise CommandError(f"Connection #{wanted} is disabled or pulls no reservations.")
        failed = False
        for connection_id in ids:
            report = pull_connection(connection_id).as_dict()
            failed = failed or bool(report["error"]) or not report["claimed"]
            summary = ", ".join(f"{k} {v}" for k, v in report.items() if k != "error")
            if not report["claimed"]:
                summary = "busy (another worker holds it); try again shortly"
            self.stdout.write(
                f"#{connection_id}: {summary}" + (f"; {report['error']}" if report["error"] else "")
            )
        if failed:
            raise CommandError("Some pulls did not complete (see above).")
