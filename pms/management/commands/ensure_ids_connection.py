"""``manage.py ensure_ids_connection``: give a hotel its IDS Next connection (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from bookings.models import Hotel
from partners.ids_next.setup import ensure_ids_connection


class Command(BaseCommand):
    help = "Create the hotel's ids_next connection from the IDS_* settings if it is missing."

    def add_arguments(self, parser):
        parser.add_argument("--hotel", default="PEMA", help="Hotel code (default PEMA).")
        parser.add_argument(
            "--update", action="store_true", help="Re-apply the IDS_* settings to an existing one."
        )

    def handle(self, *args, hotel: str, update: bool, **options):
        try:
            hotel_obj = Hotel.objects.get(code=hotel)
        except Hotel.DoesNotExist as exc:
            raise CommandError(f"No hotel {hotel!r}; run seed_pema first.") from exc
        conn, created = ensure_ids_connection(hotel_obj, update=update)
        verb = "Created" if created else ("Updated" if update else "Kept")
        self.stdout.write(f"{verb} {conn} for {hotel_obj.code} at {conn.base_url}.")
