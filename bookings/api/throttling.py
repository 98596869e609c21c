"""Rate limits per API key, on the Django cache (Redis in production): a sliding window.

A limit such as ``600/min`` means at most 600 accepted requests in *any*
60 seconds, not per calendar minute: a fixed-window counter let twice the
rate through across a window's edge (1,200 requests in 6.25 s were measured
against 600/min). Each limited identity keeps the times of its accepted
requests of the last window; a request is accepted while fewer than the limit
lie within the window ending now, and a refused one is not recorded, so a
client that keeps knocking is let in again as soon as its oldest request
leaves the window (``Retry-After`` says when).

On Redis this is a sorted set per identity, handled by one small Lua script
in a single round trip (EVALSHA: trim, count, add). Other cache backends (the
file cache of ``make run``) keep the same list of times in one cache entry,
read and written back: not atomic across processes, which only matters to a
developer hammering their own machine. A Redis that cannot be reached counts
nothing and lets everything through, as the rest of the cache degrades.

Accepted requests carry ``RateLimit-Limit`` and ``RateLimit-Remaining``
(``ApiMiddleware`` adds them from ``request.pema_rate_limit``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from pema.cache import unreachable, warn_unreachable

from ..models import ApiKey
from .addresses import client_group

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# KEYS[1]: the sorted set of accepted times (ms); ARGV: now (ms), window (ms), limit, member.
# Answers {accepted (1/0), requests in the window, ms until the oldest leaves it}.
_SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now}
"""
_script: Script | None = None


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _DURATIONS[period[0].lower()]


@dataclass(frozen=True)
class WindowState:
    """The outcome of one request against a limit."""

    accepted: bool
    limit: int
    remaining: int | None  # None when nothing could be counted (Redis unreachable)
    retry_after: float = 0.0  # seconds until a refused caller may try again


def hit(key: str, limit: int, duration: int) -> WindowState:
    """Count one request for ``key`` against ``limit`` per sliding ``duration`` seconds."""
    now_ms = int(time.time() * 1000)
    window_ms = duration * 1000
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return _hit_redis(backend, key, limit, now_ms, window_ms)
    return _hit_portable(backend, key, limit, now_ms, window_ms)


def _hit_redis(backend: RedisCache, key: str, limit: int, now_ms: int, window_ms: int):
    global _script
    full_key = backend.make_and_validate_key(key)
    member = f"{now_ms}:{secrets.token_hex(4)}"  # unique even for two calls in one ms
    try:
        client = backend._cache.get_client(full_key, write=True)
        if _script is None:
            _script = client.register_script(_SLIDING_WINDOW_LUA)
        accepted, count, wait_ms = _script(
            keys=[full_key], args=[now_ms, window_ms, limit, member], client=client
        )
    except Exception as exc:
        if not unreachable(exc):
            raise
        # No Redis, no counting: bookings must go on; limits return with Redis.
        warn_unreachable(exc)
        return WindowState(True, limit, None)
    return WindowState(bool(accepted), limit, max(limit - int(count), 0), int(wait_ms) / 1000)


def _hit_portable(backend, key: str, limit: int, now_ms: int, window_ms: int) -> WindowState:
    stamps = [t for t in backend.get(key, []) if t > now_ms - window_ms]
    if len(stamps) >= limit:
        return WindowState(False, limit, 0, (stamps[0] + window_ms - now_ms) / 1000)
    stamps.append(now_ms)
    backend.set(key, stamps, timeout=window_ms / 1000 + 1)
    return WindowState(True, limit, limit - len(stamps))


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each key (or staff user, or anonymous client IP) to its rate per sliding window."""

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
            ident, rate = f"ip{client_group(request)}", rates["api_anon"]
        if not rate:
            return True
        limit, duration = parse_rate(rate)
        state = hit(f"throttle:{ident}:{duration}", limit, duration)
        request._request.pema_rate_limit = state
        self._wait = state.retry_after
        return state.accepted

    def wait(self) -> float:
        return max(getattr(self, "_wait", 1.0), 1.0)
