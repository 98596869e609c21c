"""The Hotelbeds simulator served in this process (tests of the supplier and simulator).

:func:`serving` runs the sandbox harness on a free port in a thread with two
Hotelbeds instances (``hotelbeds`` and ``hotelbeds2``); the end-to-end tests
use ``manage.py runsandbox`` instead (``tests/sandbox.py``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from partners.hotelbeds.simulator import HotelbedsSimulator
from sandbox.server import make_server

KEY, SECRET = "hb-sandbox-key", "hb-sandbox-secret"


@dataclass
class Sandbox:
    base_url: str
    harness: Any

    def url(self, partner: str = "hotelbeds") -> str:
        return f"{self.base_url}/{partner}"

    def command(self, partner: str, name: str, payload: dict | None = None) -> Any:
        answer = requests.post(
            f"{self.base_url}/_control/{partner}/{name}", data=json.dumps(payload or {}), timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def faults(self, partner: str, **values: Any) -> Any:
        return self.command(partner, "faults", values)

    def state(self, partner: str = "hotelbeds") -> dict:
        return requests.get(f"{self.base_url}/_control/{partner}/state", timeout=10).json()

    def simulator(self, partner: str = "hotelbeds") -> HotelbedsSimulator:
        return self.harness.simulators[partner]


@contextmanager
def serving(state_dir: Path) -> Iterator[Sandbox]:
    server = make_server(
        {"hotelbeds": HotelbedsSimulator, "hotelbeds2": HotelbedsSimulator},
        state_dir=state_dir,
        port=0,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield Sandbox(f"http://{host}:{port}", server.harness)
    finally:
        server.shutdown()
        server.server_close()
        server.harness.store.close()
