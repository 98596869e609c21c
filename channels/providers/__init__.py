"""The provider registry: provider key -> dotted path of its class.

The registry is the ``PEMA_PROVIDERS`` setting, so adding a partner is one
line there (and a folder in ``partners/``), with no migration:
``Connection.provider`` takes its choices from :func:`provider_choices`, a
callable Django evaluates when the choices are read, not when migrations are
written. Paths are strings on purpose: ``channels`` must not import
``partners`` or ``pms`` (imports point one way), so a provider is loaded only
when used.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .base import Provider


def registry() -> dict[str, str]:
    """``PEMA_PROVIDERS`` as it is now (tests may add a provider to it)."""
    return settings.PEMA_PROVIDERS


# The same dict as the setting: code that adds a provider to one adds it to both.
PROVIDERS: dict[str, str] = registry()


def provider_label(key: str) -> str:
    """The provider's ``label`` (its key when it has none or cannot be loaded)."""
    try:
        return provider_class(key).label or key
    except (ImportError, KeyError):
        return key


def provider_choices() -> list[tuple[str, str]]:
    """``Connection.provider``'s choices: every registered provider, with its label."""
    return [(key, provider_label(key)) for key in registry()]


@cache
def provider_class(key: str) -> type[Provider]:
    """The provider class registered under ``key``; KeyError for an unknown key."""
    return import_string(registry()[key])
