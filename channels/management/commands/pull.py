"""Pull reservations now: ``manage.py pull [--connection ID|--provider P] [--hotel H]``
(by default every enabled connection whose partner keeps reservations for Pema).

Thin: each pull is ``channels.operations.pull_now``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from channels import operations

from ._selection import add_selection_arguments, selected


class Command(BaseCommand):
    help = "Read, apply and acknowledge the reservations partners hold for Pema."

    def add_arguments(self, parser) -> None:
        add_selection_arguments(parser)

    def handle(self, *args, **options) -> None:
        conns = selected(options)
        if options.get("connection") is None:
            conns = [conn for conn in conns if operations.pulls_reservations(conn)]
            if not conns:
                raise CommandError("None of these connections pulls reservations.")
        failed = False
        for conn in conns:
            try:
                report = operations.pull_now(conn)
            except operations.ConnectionBusy:
                failed = True
                self.stdout.write(f"#{conn.pk}: busy (another worker holds it); try again shortly")
                continue
            except operations.OperationError as exc:
                raise CommandError(exc.message) from exc
            data = report.as_dict()
            failed = failed or bool(data["error"])
            summary = ", ".join(f"{k} {v}" for k, v in data.items() if k != "error")
            self.stdout.write(
                f"#{conn.pk}: {summary}" + (f"; {data['error']}" if data["error"] else "")
            )
        if failed:
            raise CommandError("Some pulls did not complete (see above).")
