"""Making the Hotelbeds supplier account: ``ensure_hotelbeds_supplier`` (used by the command
``manage.py ensure_supplier`` and the tests).

Setup is a plain function over the model the suppliers app gives it, so this
partner folder imports no model itself: ``Supplier`` is passed in.
"""

from __future__ import annotations

from typing import Any

SANDBOX_PATH = "/hotelbeds"


def sandbox_settings(base_url: str) -> dict[str, Any]:
    """Provider settings for a simulator at ``base_url`` (its images are served there)."""
    return {"image_base_url": base_url.rstrip("/") + "/photos/", "max_hotels": 20}


def ensure_hotelbeds_supplier(
    supplier_model,
    *,
    code: str,
    base_url: str,
    api_key: str,
    secret: str,
    qps: int = 4,
    daily_quota: int = 0,
    settings: dict[str, Any] | None = None,
    name: str = "",
):
    """The account ``code`` with these values (created or updated); returns the row."""
    row, _ = supplier_model.objects.update_or_create(
        code=code,
        defaults={
            "provider": "hotelbeds",
            "name": name or f"Hotelbeds ({code})",
            "base_url": base_url,
            "qps": qps,
            "daily_quota": daily_quota,
            "settings": settings or {},
            "enabled": True,
        },
    )
    row.credentials = {"api_key": api_key, "secret": secret}
    row.save(update_fields=["credentials"])
    return row
