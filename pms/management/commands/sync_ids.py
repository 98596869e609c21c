"""``manage.py sync_ids [--full] [--hotel CODE] [--queue-only]``: ``sync --provider ids_next``."""

from channels.management.commands.sync import Command as SyncCommand
from channels.models import Connection


class Command(SyncCommand):
    help = "Send pending changes to IDS Next now; with --full, the whole calendar."
    provider = "ids_next"
    nothing_message = "No enabled IDS Next connection (see ensure_ids_connection)."

    def label(self, conn: Connection) -> str:
        return conn.hotel.code
