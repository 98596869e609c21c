"""``manage.py reconcile_ids [--dry-run] [--hotel CODE]``: ``reconcile --provider ids_next``."""

from channels.management.commands.reconcile import Command as ReconcileCommand
from channels.models import Connection


class Command(ReconcileCommand):
    help = "List reservations with no IDS reference or a pending/dead job, and queue them again."
    provider = "ids_next"
    nothing_message = "No enabled IDS Next connection (see ensure_ids_connection)."

    def header(self, conn: Connection) -> None:
        return None
