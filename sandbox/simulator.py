"""What a simulator is to the harness: a request in, a response out, commands on the side.

A simulator subclasses :class:`Simulator`, is registered by dotted path in
``PEMA_SANDBOX_SIMULATORS`` (partner name -> class), and is served under
``/<partner>/``. The harness does the HTTP, the faults, the control API and
the state store; the simulator only answers :class:`Request` values and
control commands, and keeps its state in :attr:`Simulator.store`. A simulator
may add options to ``manage.py runsandbox`` (:meth:`Simulator.add_arguments`,
read back in :meth:`Simulator.from_options`).

:meth:`SimulatorContext.emit` is how a simulator produces partner-side
bookings: queued for Pema to pull (the pull partners, e.g. Booking.com),
or POSTed to Pema's ``/hooks/<connection uuid>/`` (the push partners).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from argparse import ArgumentParser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.store import PartnerStore

logger = logging.getLogger(__name__)

#: The kind under which :meth:`SimulatorContext.emit` queues bookings for Pema to pull.
EMITTED = "emitted"


class CommandError(ValueError):
    """A control command the simulator refuses: answered 400 with the message."""


@dataclass(frozen=True)
class Request:
    """One call to a simulator; ``path`` is what follows ``/<partner>``."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), default)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class Response:
    """A simulator's answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/xml; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """What a push to Pema's hook got back (status 0: it could not be delivered)."""

    status: int
    body: bytes = b""
    error: str = ""


class SimulatorContext:
    """What the harness gives a simulator: its store and the emit call."""

    def __init__(
        self,
        partner: str,
        store: PartnerStore,
        state_dir: Path,
        faults: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.partner = partner
        self.store = store
        self.state_dir = state_dir
        #: The partner's current faults (a copy), for a simulator-specific ``error`` fault.
        self.faults = faults

    def emit(self, key: str, document: Any) -> None:
        """Queue a partner-side booking for Pema to pull (replacing one with the same key)."""
        self.store.put(EMITTED, key, document)

    def emitted(self) -> list[tuple[str, Any]]:
        """The queued bookings, oldest first."""
        return self.store.items(EMITTED)

    def unqueue(self, key: str) -> None:
        self.store.delete(EMITTED, key)

    def push(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Delivery:
        """POST a booking to Pema's hook now, as a push partner does; never raises."""
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - a sandbox URL
                return Delivery(status=answer.status, body=answer.read(1024 * 1024))
        except urllib.error.HTTPError as exc:
            return Delivery(status=exc.code, body=exc.read(1024 * 1024), error=str(exc))
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("push to %s failed: %s", url, exc)
            return Delivery(status=0, error=str(exc))


class Simulator:
    """Base class of every partner simulator."""

    #: Shown on the control page.
    title = "Simulator"
    #: The largest request body read (larger ones are answered 413 unread).
    max_body_bytes = 2 * 1024 * 1024
    #: Whether ``runsandbox`` also serves this simulator at the paths under no
    #: partner (``/OTA_PingRQ``, ``/_control/faults``): IDS Next's, which predate
    #: the harness. At most one registered simulator may.
    serves_root = False

    def __init__(self, context: SimulatorContext) -> None:
        self.context = context
        self.store = context.store

    @classmethod
    def add_arguments(cls, parser: ArgumentParser) -> None:
        """This simulator's options on ``manage.py runsandbox`` (none by default)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Callable[[SimulatorContext], Simulator]:
        """What ``runsandbox`` hands the harness to make this simulator, given its options."""
        return cls

    def handle(self, request: Request) -> Response:
        """Answer one call under ``/<partner>/``."""
        raise NotImplementedError

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        """A control command (``POST /_control/<partner>/<name>``); JSON-able result."""
        raise CommandError(f"unknown command {name!r}")

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /_control/<partner>/state`` shows."""
        return {"emitted": [doc for _, doc in self.context.emitted()]}

    def reset(self) -> None:
        """After the harness wiped this partner's store (``POST /_control/<partner>/reset``)."""

    def error_response(self, status: int) -> Response:
        """The body for a forced error status (fault ``status``)."""
        return Response(
            status=status, body=b"Forced error (sandbox fault)\n", content_type="text/plain"
        )

    def too_large_response(self, request: Request) -> Response:
        """The answer to a body over :attr:`max_body_bytes` (left unread: ``body`` is empty)."""
        return Response(status=413, body=b"Request too large\n", content_type="text/plain")

    def describe(self) -> str:
        """One line for ``runsandbox`` to print at startup (what to know about this run)."""
        return ""

    def control_page(self) -> str | None:
        """This simulator's own control page (HTML), or None for the harness's."""
        return None

    def malformed_response(self) -> Response:
        """A 200 whose document is cut off (fault ``malformed``)."""
        return Response(status=200, body=b'<?xml version="1.0" encoding="UTF-8"?>\n<Broken xmlns="')


def run_command(
    handlers: Mapping[str, Callable[[dict[str, Any]], Any]], name: str, payload: dict[str, Any]
) -> Any:
    """A simulator's :meth:`Simulator.command` by table: an unknown name or a payload its
    handler cannot read is a :class:`CommandError` (answered 400) saying so."""
    if name not in handlers:
        raise CommandError(f"unknown command {name!r}; known: {', '.join(sorted(handlers))}")
    try:
        return handlers[name](payload)
    except CommandError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{name}: bad payload ({exc!r})") from exc


def json_payload(body: bytes) -> dict[str, Any]:
    """A control request's JSON object (empty body: ``{}``)."""
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise CommandError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise CommandError("expected a JSON object")
    return value
