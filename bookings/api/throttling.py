"""Rate limits per API key, on the Django cache (Redis in production).

A fixed one-window counter per key rather than DRF's list of timestamps. On
Redis it is one round trip per request: INCR and EXPIRE NX in one MULTI (the
cache API's ``add`` then ``incr`` costs three, as Django's ``incr`` first asks
whether the key exists). Other cache backends take the portable path.
"""

from __future__ import annotations

import time

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from pema.cache import unreachable, warn_unreachable

from ..models import ApiKey

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _DURATIONS[period[0].lower()]


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each key (or staff user, or anonymous client IP) to its rate per window."""

    def allow_request(self, request, view) -> bool:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        auth = request.auth
        if isinstance(auth, ApiKey):
            # By the key's random prefix, not its id: an id can come back (SQLite
            # reuses the highest rowid after a delete) with the old key's count.
            ident, rate = f"k{auth.prefix}", rates["api_key"]
        elif request.user is not None and request.user.is_authenticated:
            ident, rate = f"u{request.user.pk}", rates["api_key"]
        else:
            ident, rate = f"ip{self.get_ident(request)}", rates["api_anon"]
        if not rate:
            return True
        limit, duration = parse_rate(rate)
        now = time.time()
        window = int(now // duration)
        self._wait = (window + 1) * duration - now
        key = f"throttle:{ident}:{duration}:{window}"
        return count_hit(key, duration + 1) <= limit

    def wait(self) -> float:
        return max(getattr(self, "_wait", 1.0), 1.0)


def count_hit(key: str, timeout: int) -> int:
    """Add one to the counter ``key`` (made with ``timeout`` seconds to live); its new value."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        try:
            client = backend._cache.get_client(full_key, write=True)
            pipe = client.pipeline(transaction=True)
            pipe.incr(full_key)
            pipe.expire(full_key, timeout, nx=True)
            count, _ = pipe.execute()
        except Exception as exc:
            if not unreachable(exc):
                raise
            # No Redis, no counting: bookings must go on; limits return with Redis.
            warn_unreachable(exc)
            return 0
        return int(count)
    # add() is a no-op when the key exists.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
