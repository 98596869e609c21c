"""Logging filters.

A refused request (403) is an everyday event, not a fault: Django logs it
with the ``PermissionDenied`` traceback, and in development it also went to
Django's own console handler beside ours, so each 403 printed two
tracebacks. ``one_line_for_forbidden`` keeps the record's one line.
"""

from __future__ import annotations

import logging


class OneLineForForbidden(logging.Filter):
    """Drop the traceback of ``django.request``'s 403 records; keep the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
