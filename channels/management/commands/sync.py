"""``manage.py sync [--full] [--connection ID|--provider P] [--hotel H] [--queue-only]``.

Sends each selected connection's pending changes now (with ``--full``, the
whole calendar first), delivering here unless ``--queue-only`` leaves it to
the workers. Thin: the work is ``channels.operations.sync``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from channels import operations
from channels.models import Connection

from ._selection import add_selection_arguments, selected


class Command(BaseCommand):
    help = "Send pending changes to partners now; with --full, the whole calendar."
    #: Set by an alias of this command for one partner (``sync_ids``).
    provider: str | None = None
    #: What an alias says when its partner has no enabled connection.
    nothing_message = ""

    def add_arguments(self, parser) -> None:
        parser.add_argument("--full", action="store_true", help="Queue the whole calendar.")
        add_selection_arguments(parser, provider=self.provider)
        parser.add_argument(
            "--queue-only", action="store_true", help="Queue the jobs; let the workers send them."
        )

    def label(self, conn: Connection) -> str:
        return f"{conn.hotel.code} #{conn.pk} {conn.name}"

    def handle(self, *args, full: bool, queue_only: bool, **options) -> None:
        conns = selected(options, provider=self.provider, nothing=self.nothing_message)
        refused = []
        for conn in conns:
            try:
                report = operations.sync(conn, full=full, inline=not queue_only)
            except operations.OperationError as exc:
                refused.append(exc.message)
                self.stderr.write(f"{self.label(conn)}: {exc.message}")
                continue
            self.stdout.write(f"{self.label(conn)}: {report.queued} job(s) queued.")
            if queue_only:
                continue
            for delivered in report.delivered_rounds:
                self.stdout.write(f"  delivered {delivered}")
            self.stdout.write(
                f"  failed {report.failed}, dead {report.dead}; pending {report.pending}."
            )
        if len(refused) == len(conns):
            raise CommandError(refused[0] if len(refused) == 1 else "Nothing was synced.")
