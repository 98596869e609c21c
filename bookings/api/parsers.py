"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest.

Python's JSON decoder recurses once per level, so a body of a few kilobytes
nested a thousand levels deep raises ``RecursionError`` (not ``ValueError``),
which DRF's parser lets through as a 500. No request of this API nests more
than a few levels, so anything deeper than ``MAX_DEPTH`` is refused as
malformed, whatever the stack depth at which it happens to be parsed.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def nesting_depth_exceeds(data: Any, limit: int) -> bool:
    """True when ``data`` holds containers nested more than ``limit`` levels (iteratively)."""
    pending = [(data, 1)] if isinstance(data, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; too-deep nesting is a ``ParseError`` (400 ``malformed_json``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = f"JSON nested more than {MAX_DEPTH} levels deep."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if nesting_depth_exceeds(data, MAX_DEPTH):
            raise ParseError(too_deep)
        return data
