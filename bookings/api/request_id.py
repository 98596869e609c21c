"""The request id of the request being served, for responses and log records.

Kept free of model imports: the logging configuration loads this module
before the apps are ready.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("pema_request_id", default="")
# A caller's id is echoed only when it is short and plain, so it cannot inject into logs.
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def choose(incoming: str | None) -> str:
    """The caller's id when sane, else a new one."""
    if incoming and _SANE.match(incoming):
        return incoming
    return uuid.uuid4().hex


def get() -> str:
    return _current.get()


def set_current(value: str) -> contextvars.Token:
    return _current.set(value)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
