"""App config of the backups app: connects the signal that removes deleted backups' files."""

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the receivers
