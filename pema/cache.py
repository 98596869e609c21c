"""Django's Redis cache, without a new redis-py client object per cache call,
and without failing or holding up its callers when Redis is unreachable.

Django's ``RedisCacheClient.get_client`` builds a ``redis.Redis`` for every
operation. Building one is not free: redis-py fills in its table of response
callbacks (some 500 entries) each time, which profiled at about a fifth of
the CPU of a cached availability answer. A client is only a thin, thread-safe
front of its connection pool, so one per pool is kept and reused.

A Redis that does not answer costs each call its socket timeout (a second),
and a request makes several (rate limit, key cache, availability version):
seconds per request. So the pools' connections sit behind a circuit breaker
(``pema.breaker``): after a failure every call of the process fails at once,
as "unreachable", for ``PEMA_CACHE_BREAKER_SECONDS``; then one call tries.
That covers every user of the pools, the rate-limit counter's pipeline too.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

from .breaker import CircuitBreaker

logger = logging.getLogger(__name__)

cache_breaker = CircuitBreaker(
    "The Redis cache", open_seconds=lambda: settings.PEMA_CACHE_BREAKER_SECONDS
)
SKIPPED = "Redis skipped for a moment after a failure (circuit open)"


class _BreakerGuard:
    """A redis-py connection that asks :data:`cache_breaker` before it connects or sends.

    While the breaker is open a connect or command is refused at once; a
    connection or timeout error opens it; any answer (an error reply too)
    closes it. Once admitted, a command goes on to its reply unasked (the pool
    connects before the command is sent, and a connect sends commands of its
    own), so a half-open breaker's one try is not refused half-way.
    """

    _admitted = False

    def _admit(self) -> None:
        if not self._admitted:
            if not cache_breaker.allow():
                raise redis.exceptions.ConnectionError(SKIPPED)
            self._admitted = True

    def _guarded(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            self._admitted = False
            cache_breaker.failed()
            raise

    def connect(self, *args, **kwargs):
        self._admit()
        return self._guarded(super().connect, *args, **kwargs)

    def send_packed_command(self, command, check_health=True):
        self._admit()
        return self._guarded(super().send_packed_command, command, check_health)

    def read_response(self, *args, **kwargs):
        try:
            return self._guarded(super().read_response, *args, **kwargs)
        finally:
            # Any reply, an error reply too, shows Redis answers (a failure cleared the flag).
            if self._admitted:
                self._admitted = False
                cache_breaker.succeeded()


class GuardedConnection(_BreakerGuard, redis.connection.Connection):
    pass


class GuardedSSLConnection(_BreakerGuard, redis.connection.SSLConnection):
    pass


def _guarded_class(url: str) -> dict:
    """The pool option that puts a URL's connections behind the breaker (TCP ones)."""
    if url.startswith("rediss://"):
        return {"connection_class": GuardedSSLConnection}
    if url.startswith("redis://"):
        return {"connection_class": GuardedConnection}
    return {}  # a Unix socket: local, it cannot hang on the network


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                url = self._servers[index]
                self._pools[index] = self._pool_class.from_url(
                    url, **{**self._pool_options, **_guarded_class(url)}
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


# What a cache that cannot be reached answers: a miss, nothing stored.
_UNREACHABLE_ANSWERS = {
    "get": lambda args, kwargs: kwargs.get("default", args[1] if len(args) > 1 else None),
    "get_many": lambda args, kwargs: {},
    "has_key": lambda args, kwargs: False,
    "add": lambda args, kwargs: False,
    "set": lambda args, kwargs: None,
    "set_many": lambda args, kwargs: list(args[0]) if args else [],
    "touch": lambda args, kwargs: False,
    "delete": lambda args, kwargs: False,
    "delete_many": lambda args, kwargs: None,
    "clear": lambda args, kwargs: None,
}
_last_warning = 0.0


def unreachable(exc: BaseException) -> bool:
    """A Redis that cannot be reached (as opposed to a programming error)."""
    return isinstance(
        exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError
    )


def warn_unreachable(exc: BaseException) -> None:
    """Log at most once a minute: a Redis outage must not flood the logs either."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        logger.warning("Redis cache unreachable (%s); going on without it.", exc)


def _degrading(name: str):
    method = getattr(DjangoRedisCache, name)
    answer = _UNREACHABLE_ANSWERS[name]

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if not unreachable(exc):
                raise
            warn_unreachable(exc)
            return answer(args, kwargs)

    return wrapper


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with the client above.

    The cache holds nothing that must survive (rate-limit counters, short-lived
    answers): when Redis is down, reads miss and writes are dropped, so a
    booking or a search still succeeds. ``incr``/``decr`` raise ``ValueError``
    as for a missing key, which callers already handle.
    """

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except Exception as exc:
            if not unreachable(exc):
                raise
            warn_unreachable(exc)
            raise ValueError("cache unreachable") from exc


for _name in _UNREACHABLE_ANSWERS:
    setattr(RedisCache, _name, _degrading(_name))
