"""Configure PayU for the hotel PAYU_HOTEL from the environment (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bookings.models import Hotel
from payments.models import Gateway, GatewayConfig


class Command(BaseCommand):
    help = (
        "Set the PayU gateway of PAYU_HOTEL from PAYU_KEY, PAYU_SALT, PAYU_MODE and "
        "PAYU_BASE_URL. With --sandbox URL and no PAYU_KEY: the local PayU simulator."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hotel", default=settings.PAYU_HOTEL)
        parser.add_argument(
            "--sandbox",
            default="",
            help="The simulator's PayU URL (http://127.0.0.1:8100/payu), used when PAYU_KEY "
            "is not set.",
        )

    def handle(self, *args, hotel: str, sandbox: str, **options) -> None:
        found = Hotel.objects.filter(code=hotel).first()
        if found is None:
            raise CommandError(f"No hotel {hotel!r}: seed it first (manage.py seed_pema).")
        if settings.PAYU_KEY and settings.PAYU_SALT:
            key, salt = settings.PAYU_KEY, settings.PAYU_SALT
            mode, base_url = settings.PAYU_MODE, settings.PAYU_BASE_URL
        elif sandbox:
            key, salt = settings.PAYU_SANDBOX_KEY, settings.PAYU_SANDBOX_SALT
            mode, base_url = GatewayConfig.Mode.TEST, sandbox
        else:
            raise CommandError("Set PAYU_KEY and PAYU_SALT (or give --sandbox).")
        if mode not in GatewayConfig.Mode.values:
            raise CommandError(f"PAYU_MODE is test or production, not {mode!r}.")
        config, created = GatewayConfig.objects.get_or_create(
            hotel=found, defaults={"gateway": Gateway.PAYU}
        )
        config.gateway = Gateway.PAYU
        config.mode = mode
        config.base_url = base_url
        config.credentials = {"key": key, "salt": salt}
        config.is_active = True
        config.save()
        where = base_url or f"PayU {mode}"
        self.stdout.write(
            f"PayU for {found.code}: {where} ({'created' if created else 'updated'})."
        )
