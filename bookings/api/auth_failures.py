"""Failed authentication, limited per client address, so that guessing costs the guesser.

Every 401 of the API (no key, or a key that is unknown, revoked or expired)
counts against the caller's address (``addresses.client_group``) in the same
sliding window as the rate limits, at the rate ``auth_failure`` of
``DEFAULT_THROTTLE_RATES`` (``PEMA_API_AUTH_FAILURE_RATE_LIMIT``, 20/min).
Past it the address is answered 429 ``rate_limited`` until its oldest counted
failure leaves the window, whatever it sends, before any key is looked up.

Only counted failures are audited, so the audit log holds at most that many
failed authentications per address and window, however fast they come.

A good request costs nothing here: each process remembers the addresses it
has seen go over the limit (until their ``Retry-After``) and refuses them from
memory; it learns of one only by counting a failure of its own, so another
process lets at most one more failure through before it knows too.
"""

from __future__ import annotations

from rest_framework.settings import api_settings

from . import throttling
from .addresses import client_group

# Addresses over the limit in this process -> when they may try again (throttling's clock).
_blocked: dict[str, float] = {}
_BLOCKED_MAX = 10_000


def _limit() -> tuple[int, int] | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("auth_failure")
    return throttling.parse_rate(rate) if rate else None


def _key(group: str) -> str:
    return f"authfail:{group}"


def blocked_for(request) -> float:
    """Seconds this caller must still wait after too many failures; 0 when it may go on."""
    if not _blocked:
        return 0.0
    group = client_group(request)
    until = _blocked.get(group)
    if until is None:
        return 0.0
    left = until - throttling.time.time()
    if left <= 0:
        _blocked.pop(group, None)
        return 0.0
    return left


def count_failure(request) -> throttling.WindowState | None:
    """Count one failed authentication; when it is over the limit, remember the address."""
    limit = _limit()
    if limit is None:
        return None
    group = client_group(request)
    state = throttling.hit(_key(group), *limit)
    if not state.accepted:
        if len(_blocked) >= _BLOCKED_MAX:
            _forget_expired()
        _blocked[group] = throttling.time.time() + state.retry_after
    return state


def reset(group: str) -> None:
    """Forget the failures counted against ``group`` (an address), here and in the cache."""
    from django.core.cache import cache

    _blocked.pop(group, None)
    cache.delete(_key(group))


def _forget_expired() -> None:
    now = throttling.time.time()
    for group, until in list(_blocked.items()):
        if until <= now:
            _blocked.pop(group, None)
    if len(_blocked) >= _BLOCKED_MAX:
        _blocked.clear()  # a flood of addresses: they are counted again from the cache
