"""``manage.py sync_supplier_content <supplier> [--full]``: refresh a supplier's hotel content.

Without ``--full`` only hotels updated since the last complete sync are read
(the nightly delta); with it, the whole catalogue. A progress bar shows the
pages as they are stored.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from suppliers.content import sync_content
from suppliers.interface import SupplierError
from suppliers.models import Supplier


class Command(BaseCommand):
    help = "Refresh a supplier's hotel content (a delta, or everything with --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("supplier", help="The supplier's code (e.g. hotelbeds).")
        parser.add_argument("--full", action="store_true", help="Read the whole catalogue.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options) -> None:
        supplier = Supplier.objects.filter(code=options["supplier"]).first()
        if supplier is None:
            known = ", ".join(Supplier.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"No supplier {options['supplier']!r} (known: {known}).")
        with Progress(
            TextColumn(f"{supplier.code} content"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=options["no_progress"],
        ) as bar:
            task = bar.add_task("sync", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                report = sync_content(supplier, full=options["full"], progress=progress)
            except SupplierError as exc:
                raise CommandError(f"{supplier.code}: {exc.message}") from exc
        kind = "full" if report.full else "delta"
        self.stdout.write(
            f"{supplier.code}: {report.hotels} hotels stored ({kind}, {report.pages} pages, "
            f"{report.total} in the supplier's answer)."
        )
