from django.apps import AppConfig


class SuppliersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "suppliers"
    verbose_name = "Suppliers (other hotels)"

    def ready(self) -> None:
        from . import signals  # noqa: F401
