"""The sandbox harness as a Django app: only for ``manage.py runsandbox``."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Partner sandbox"
