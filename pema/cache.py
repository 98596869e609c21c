"""Django's Redis cache, without a new redis-py client object per cache call,
and without failing its callers when Redis is unreachable.

Django's ``RedisCacheClient.get_client`` builds a ``redis.Redis`` for every
operation. Building one is not free: redis-py fills in its table of response
callbacks (some 500 entries) each time, which profiled at about a fifth of
the CPU of a cached availability answer. A client is only a thin, thread-safe
front of its connection pool, so one per pool is kept and reused.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

logger = logging.getLogger(__name__)


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
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
