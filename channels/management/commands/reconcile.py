"""``manage.py reconcile [--connection ID|--provider P] [--hotel H] [--dry-run]``.

Lists what has not reached each selected partner (reservations with no
partner reference, or a pending or dead job) and queues it again, and pulls
the connections that keep reservations for Pema. ``--dry-run`` only reports.
Thin: the work is ``channels.operations.reconcile``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from channels import operations
from channels.models import Connection

from ._selection import add_selection_arguments, selected


class Command(BaseCommand):
    help = (
        "List reservations with no partner reference or a pending/dead job and queue them "
        "again; pull the connections that keep reservations for Pema."
    )
    #: Set by an alias of this command for one partner (``reconcile_ids``).
    provider: str | None = None
    nothing_message = ""

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report.")
        add_selection_arguments(parser, provider=self.provider)

    def header(self, conn: Connection) -> str | None:
        """The line before a connection's findings (an alias for one partner has none)."""
        return f"{conn.hotel.code} #{conn.pk} {conn.name}:"

    def handle(self, *args, dry_run: bool, **options) -> None:
        conns = selected(options, provider=self.provider, nothing=self.nothing_message)
        reports = []
        refused = []
        for conn in conns:
            try:
                report = operations.reconcile(conn, dry_run=dry_run, pull_inline=True)
            except operations.NotSupported as exc:
                refused.append(exc.message)
                continue
            reports.append(report)
            header = self.header(conn)
            if header:
                self.stdout.write(header)
            for number, why in report.found:
                self.stdout.write(f"{number}: {why}")
            if report.pulls:
                self.stdout.write(self._pull_line(report))
        if not reports:
            raise CommandError(
                refused[0]
                if len(refused) == 1
                else "None of these connections has anything "
                "to reconcile (they neither take reservations nor keep any to pull)."
            )
        found = sum(len(r.found) for r in reports)
        if dry_run:
            self.stdout.write(f"{found} reservation(s) need attention (dry run).")
            return
        self.stdout.write(f"{sum(r.queued for r in reports)} reservation(s) queued again.")
        failed = [r for r in reports if r.pull and (r.pull.error or not r.pull.claimed)]
        if failed:
            raise CommandError("Some pulls did not complete (see above).")

    @staticmethod
    def _pull_line(report: operations.ReconcileReport) -> str:
        if report.dry_run:
            return "  would pull the reservations waiting at the partner."
        pulled = report.pull
        if pulled is None:
            return "  pull queued for a worker."
        if not pulled.claimed:
            return "  pull: busy (another worker holds it); try again shortly."
        summary = ", ".join(f"{k} {v}" for k, v in pulled.as_dict().items() if k != "error")
        return f"  pulled: {summary}" + (f"; {pulled.error}" if pulled.error else "")
