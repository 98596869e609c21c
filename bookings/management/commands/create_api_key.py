"""``manage.py create_api_key``: issue a booking-engine API key and print it once."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings.api_keys import KNOWN_SCOPES, issue_key
from bookings.models import Hotel


class Command(BaseCommand):
    help = "Create an API key for one or more hotels and print it (it is shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hotel", action="append", required=True, help="Hotel code; repeat.")
        parser.add_argument("--name", required=True, help='Who uses it, e.g. "Website".')
        parser.add_argument(
            "--scopes",
            default="availability:read,bookings:read,bookings:write",
            help=f"Comma-separated, from: {', '.join(KNOWN_SCOPES)}.",
        )
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, **options) -> None:
        codes = list(dict.fromkeys(options["hotel"]))
        hotels = list(Hotel.objects.filter(code__in=codes))
        missing = sorted(set(codes) - {h.code for h in hotels})
        if missing:
            raise CommandError(f"Unknown hotel(s): {', '.join(missing)}.")
        name = options["name"].strip()
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        if not name:
            raise CommandError('Give the key a --name, e.g. "Website".')
        if not scopes:
            raise CommandError(f"Give at least one scope, from: {', '.join(KNOWN_SCOPES)}.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = issue_key(
                name=name,
                hotels=hotels,
                scopes=scopes,
                expires_at=expires_at,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(
            f"Created key {issued.api_key} for {', '.join(codes)} with scopes "
            f"{', '.join(issued.api_key.scopes)}. Store it now: it is not shown again."
        )
        self.stdout.write(issued.raw)
