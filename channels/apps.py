"""The channel manager app: connections, the outbox, delivery and providers."""

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels"
    verbose_name = "Channels and sync"

    def ready(self) -> None:
        from bookings.dashboard import register_attention

        from . import signals  # noqa: F401
        from .attention import SOURCES

        for source in SOURCES:
            register_attention(source)
