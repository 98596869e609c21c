"""API keys: issuing, checking and revoking the booking engine's credentials.

A key reads ``pema_<prefix>_<secret>``. Only its SHA-256 is stored, beside
the prefix used to find the row, so a database leak gives no usable key. The
secret is shown once, when the key is made. Last use is written at most once
a minute with a conditional UPDATE, so busy keys cost no write per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import ApiKey, Hotel

KNOWN_SCOPES: dict[str, str] = {
    "availability:read": "Read hotels, room types, rate plans, availability and prices.",
    "bookings:read": "Read bookings.",
    "bookings:write": "Create, modify and cancel bookings.",
    "ids:admin": "Staff endpoints of the IDS Next integration.",
    "backups:admin": "Start and download backups.",
}
KEY_PREFIX = "pema"
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedKey:
    """A new key and the one time its full secret is known."""

    api_key: ApiKey
    raw: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, de-duplicated in a stable order; raise ``ValidationError`` for unknown ones."""
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = sorted(set(wanted) - set(KNOWN_SCOPES))
    if unknown:
        raise ValidationError(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(KNOWN_SCOPES)}."
        )
    return list(dict.fromkeys(wanted))


def new_raw_key() -> tuple[str, str]:
    """A fresh (prefix, full key)."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def set_new_secret(api_key: ApiKey) -> str:
    """Give an unsaved key its prefix and hash; return the full key to show once."""
    prefix, raw = new_raw_key()
    api_key.prefix = prefix
    api_key.key_hash = hash_key(raw)
    return raw


def issue_key(
    *,
    name: str,
    hotels: Iterable[Hotel],
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Create a key for ``hotels`` with ``scopes``; the returned raw key is never stored."""
    api_key = ApiKey(name=name, scopes=validate_scopes(scopes), expires_at=expires_at)
    raw = set_new_secret(api_key)
    with transaction.atomic():
        api_key.save()
        api_key.hotels.set(list(hotels))
    return IssuedKey(api_key, raw)


def split_key(raw: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    if len(parts[1]) > 16 or len(raw) > 200:
        return None
    return parts[1]


def find_key(raw: str) -> ApiKey | None:
    """The active key for ``raw``, or None (unknown, wrong secret, revoked or expired)."""
    prefix = split_key(raw)
    if prefix is None:
        return None
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    # Compare in constant time so the hash leaks nothing through timing.
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_key(raw)):
        return None
    if not api_key.is_active:
        return None
    touch(api_key)
    return api_key


def touch(api_key: ApiKey) -> None:
    """Record use, at most once per ``LAST_USED_RESOLUTION`` (one conditional UPDATE)."""
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    api_key.last_used_at = now


def revoke(keys: Iterable[ApiKey]) -> int:
    """Revoke the keys that are not revoked yet; return how many."""
    ids = [k.pk for k in keys]
    return ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
