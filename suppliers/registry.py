"""The supplier registry: ``PEMA_SUPPLIERS`` (key -> dotted path), and a model made runnable.

:func:`supplier_for` turns a :class:`~suppliers.models.Supplier` row into its
implementation, with the credentials decrypted and Pema's gate (limits) in
its config. The classes are loaded once per process.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from .interface import Supplier, SupplierConfig
from .limits import SupplierGate
from .models import Supplier as SupplierModel


@functools.cache
def _class(path: str) -> type[Supplier]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, Supplier)):
        raise TypeError(f"{path} is not a suppliers.interface.Supplier.")
    return cls


def supplier_class(provider: str) -> type[Supplier]:
    """The class registered under ``provider``; ``KeyError`` when none is."""
    return _class(settings.PEMA_SUPPLIERS[provider])


def supplier_for(row: SupplierModel) -> Supplier:
    """The supplier implementation for a configured account."""
    config = SupplierConfig(
        code=row.code,
        base_url=row.base_url,
        secure_base_url=row.secure_base_url,
        credentials=dict(row.credentials or {}),
        settings=dict(row.settings or {}),
        search_timeout=row.search_timeout_seconds,
        booking_timeout=row.booking_timeout_seconds,
        gate=SupplierGate(row.code, qps=row.qps, daily_quota=row.daily_quota),
    )
    return supplier_class(row.provider)(config)
