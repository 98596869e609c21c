"""The channel manager app: connections, the outbox, delivery and providers."""

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "channels"
    verbose_name = "Channels and sync"

    def ready(self) -> None:
        from . import signals  # noqa: F401
