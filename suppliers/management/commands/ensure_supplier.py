"""``manage.py ensure_supplier hotelbeds --code X --base-url URL --api-key K --secret S``:
create or update a supplier account (the credentials are stored encrypted)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from partners.hotelbeds.setup import ensure_hotelbeds_supplier, sandbox_settings
from suppliers.models import Supplier


class Command(BaseCommand):
    help = "Create or update a supplier account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("provider", choices=["hotelbeds"])
        parser.add_argument("--code", default="hotelbeds")
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--api-key", required=True)
        parser.add_argument("--secret", required=True)
        parser.add_argument("--qps", type=int, default=4)
        parser.add_argument("--daily-quota", type=int, default=0)
        parser.add_argument("--sandbox", action="store_true", help="Images from the simulator.")

    def handle(self, *args, **options) -> None:
        if options["qps"] < 1:
            raise CommandError("--qps must be at least 1.")
        row = ensure_hotelbeds_supplier(
            Supplier,
            code=options["code"],
            base_url=options["base_url"],
            api_key=options["api_key"],
            secret=options["secret"],
            qps=options["qps"],
            daily_quota=options["daily_quota"],
            settings=sandbox_settings(options["base_url"]) if options["sandbox"] else {},
        )
        self.stdout.write(f"Supplier {row.code} ({row.provider}) at {row.base_url} is ready.")
