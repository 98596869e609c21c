"""The provider registry: provider key -> dotted path of its class.

Paths are strings on purpose: ``channels`` must not import ``pms`` (imports
point one way), so PMS providers are named here and loaded only when used.
``Connection.provider`` takes its choices from this dict.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .base import Provider

PROVIDERS: dict[str, str] = {
    "ids_next": "pms.providers.ids_next.provider.IdsNextProvider",
}

PROVIDER_LABELS: dict[str, str] = {
    "ids_next": "IDS Next (PMS, OpenTravel XML)",
}


def provider_choices() -> list[tuple[str, str]]:
    return [(key, PROVIDER_LABELS.get(key, key)) for key in PROVIDERS]


@cache
def provider_class(key: str) -> type[Provider]:
    """The provider class registered under ``key``; KeyError for an unknown key."""
    return import_string(PROVIDERS[key])
