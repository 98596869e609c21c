"""The PMS app: the PMS availability check, PMS sync (bookings, rooms, guests), the
sync log, the booking webhook, IDS Next's staff endpoints and commands.

The IDS Next provider, setup and simulator live in ``partners/ids_next/``.
"""

from django.apps import AppConfig


class PmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pms"
    verbose_name = "PMS"

    def ready(self) -> None:
        from bookings.external import register_availability_checker

        from . import signals  # noqa: F401 - the receivers that record the PMS events
        from .availability import check_with_pms

        register_availability_checker(check_with_pms)
