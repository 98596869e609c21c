"""The payments app: PayU first (``payments/gateways/payu/``)."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from bookings.dashboard import register_attention

        from .attention import SOURCES

        for source in SOURCES:
            register_attention(source)
