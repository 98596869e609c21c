"""API keys: issuing, checking and revoking the booking engine's credentials.

A key reads ``pema_<prefix>_<secret>``. Only its SHA-256 is stored, beside
the prefix used to find the row, so a database leak gives no usable key. The
secret is shown once, when the key is made. Last use is written at most once
a minute with a conditional UPDATE, so busy keys cost no write per request.

A checked key is remembered by each process for ``PEMA_API_KEY_CACHE_SECONDS``
(5 by default), with its hotels, so a busy key costs no query per request
either. Expiry is still checked on every request; revocation and changes of
scopes or hotels (of the key, or a hotel's own settings) made in this process
apply at once, and reach the other processes within that time. Only reads use
the remembered hotels: writes load the hotel afresh.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
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
    "pms:admin": "Start PMS syncs of bookings, rooms and guests.",
    "channels:admin": "See channel connections and their health; test, sync, pull, reconcile.",
    "backups:admin": "Start and download backups.",
    "suppliers:read": "Search other hotels' rooms through the suppliers (Hotelbeds).",
    "suppliers:write": "Book, read and cancel rooms at other hotels through the suppliers.",
}
KEY_PREFIX = "pema"
LAST_USED_RESOLUTION = timedelta(seconds=60)
# Checked keys by the SHA-256 of the raw key: (monotonic deadline, key with its hotel ids).
# Keyed by the full hash, so only the exact secret ever hits; a plain dict is safe
# across the threads of one process (each operation is atomic under the GIL).
_checked: dict[str, tuple[float, ApiKey]] = {}
_CHECKED_MAX = 1000
_clock = time.monotonic


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
    """The active key for ``raw``, or None (unknown, wrong secret, revoked or expired).

    Each call gets its own copy of the key, so nothing one request sets on it
    leaks into another.
    """
    prefix = split_key(raw)
    if prefix is None:
        return None
    digest = hash_key(raw)
    now = _clock()
    remembered = _checked.get(digest)
    if remembered is not None and remembered[0] > now:
        api_key = remembered[1]
    else:
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        # Compare in constant time so the hash leaks nothing through timing.
        if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
            return None
        _remember(digest, api_key, now)
    if not api_key.is_active:
        return None
    touch(api_key)
    return copy.copy(api_key)


def _remember(digest: str, api_key: ApiKey, now: float) -> None:
    seconds = settings.PEMA_API_KEY_CACHE_SECONDS
    if seconds <= 0:
        return
    # Loaded now, so they are remembered with the key.
    api_key._remembered_hotels = {h.code: h for h in Hotel.objects.filter(id__in=api_key.hotel_ids)}
    if len(_checked) >= _CHECKED_MAX:
        for stale in [d for d, (deadline, _) in list(_checked.items()) if deadline <= now]:
            _checked.pop(stale, None)
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
    _checked[digest] = (now + seconds, api_key)


def remembered_hotel(api_key: ApiKey, code: str) -> Hotel | None:
    """A copy of the key's hotel ``code`` as remembered with the key, if it was."""
    hotels = getattr(api_key, "_remembered_hotels", None)
    hotel = hotels.get(code) if hotels else None
    return copy.copy(hotel) if hotel is not None else None


def forget_checked_keys() -> None:
    """Drop this process's remembered keys (a key was changed or revoked here)."""
    _checked.clear()


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
    count = ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    forget_checked_keys()
    return count
