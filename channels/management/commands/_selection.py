"""The connection options the operator commands share: ``--connection ID|--provider P``
and ``--hotel H``, turned into connections (``channels.operations.select_connections``)."""

from __future__ import annotations

from django.core.management.base import CommandError

from channels.models import Connection
from channels.operations import NothingSelected, select_connections


def add_selection_arguments(parser, *, provider: str | None = None) -> None:
    """``--connection``/``--provider`` (one or the other) and ``--hotel``; with ``provider``
    fixed (an alias of the command for one partner) only ``--hotel``."""
    if provider is None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--connection", type=int, help="Only this connection id.")
        which.add_argument("--provider", help="Only this provider's connections, e.g. ids_next.")
    parser.add_argument("--hotel", help="Only this hotel's connections (hotel code).")


def selected(options: dict, *, provider: str | None = None, nothing: str = "") -> list[Connection]:
    """The enabled connections the options name; a CommandError says why there are none."""
    try:
        return select_connections(
            connection_id=options.get("connection"),
            provider=provider or options.get("provider"),
            hotel=options.get("hotel"),
        )
    except NothingSelected as exc:
        if nothing and exc.code == "no_connection":
            raise CommandError(nothing) from exc
        raise CommandError(exc.message) from exc
