"""The bookings app: the hotel's inventory, rates, reservations and their event log."""

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bookings"
    verbose_name = "Hotel and bookings"

    def ready(self) -> None:
        from . import signals, webhooks  # noqa: F401
