"""Run the partner sandbox (``manage.py runsandbox``) as a subprocess for tests.

Not a test module: fixtures import it. :class:`RunningSandbox` speaks to the
IDS Next simulator (``partners/ids_next/simulator.py``) at its root paths.
Typical use::

    with RunningSandbox() as sandbox:
        response = sandbox.send(build_ping_rq(PingRQ(echo_data="hi", echo_token="t1")))
        sandbox.set_faults(down=True)
        sandbox.state()["reservations"]
        sandbox.stop(); sandbox.start()   # a restart keeps the state directory

The sandbox gets a free port and a temporary state directory (removed by
:meth:`RunningSandbox.close`, which ``with`` calls), and writes its log there.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from pema.ota import message_name

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningSandbox:
    """A ``manage.py runsandbox`` subprocess on a free port with its own state dir."""

    def __init__(
        self,
        *,
        state_dir: Path | str | None = None,
        port: int | None = None,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        hotel_code: str = "PEMA001",
        room_types: tuple[str, ...] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._own_dir = state_dir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="pema-sandbox-")) if state_dir is None else None
        self.state_dir = Path(state_dir) if state_dir is not None else self.workdir / "state"
        self.port = port or free_port()
        self.api_key = api_key
        self.api_secret = api_secret
        self.hotel_code = hotel_code
        self.room_types = room_types
        self.startup_timeout = startup_timeout
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = (self.workdir or self.state_dir) / "sandbox.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._http = requests.Session()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> RunningSandbox:
        """Start (or restart) the process; returns once the sandbox answers."""
        if self.running:
            return self
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "runsandbox",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--api-key",
            self.api_key,
            "--api-secret",
            self.api_secret,
            "--hotel-code",
            self.hotel_code,
        ]
        if self.room_types:
            command += ["--room-types", ",".join(self.room_types)]
        # A file, not a pipe: nobody reads the output and a full pipe would block the server.
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"sandbox exited early:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base_url}/_control/faults", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"sandbox did not answer within {self.startup_timeout}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the process, keeping the state directory (so :meth:`start` resumes it)."""
        process, self._process = self._process, None
        self._http.close()
        self._http = requests.Session()
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        """Stop and remove the temporary directory this helper created."""
        self.stop()
        if self._own_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -------------------------------------------------------------- control

    def state(self) -> dict[str, Any]:
        """``GET /_control/state``: inventory, rates, reservations, counters, echo tokens."""
        response = self._http.get(f"{self.base_url}/_control/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def set_faults(
        self,
        *,
        down: bool | None = None,
        slow_ms: int | None = None,
        drip_ms: int | None = None,
        fail_percent: int | None = None,
        malformed: bool | None = None,
        truncate: bool | None = None,
        error: dict[str, Any] | None | bool = False,
    ) -> dict[str, Any]:
        """Change the given fault settings (others stay); ``error=None`` clears a forced error."""
        values: dict[str, Any] = {
            k: v
            for k, v in (
                ("down", down),
                ("slow_ms", slow_ms),
                ("drip_ms", drip_ms),
                ("fail_percent", fail_percent),
                ("malformed", malformed),
                ("truncate", truncate),
            )
            if v is not None
        }
        if error is not False:
            values["error"] = error
        response = self._http.post(f"{self.base_url}/_control/faults", json=values, timeout=10)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(
            down=False,
            slow_ms=0,
            drip_ms=0,
            fail_percent=0,
            malformed=False,
            truncate=False,
            error=None,
        )

    def control(self, partner: str, command: str, payload: dict[str, Any] | None = None) -> Any:
        """``POST /_control/<partner>/<command>`` (a simulator command); raises unless 2xx."""
        response = self._http.post(
            f"{self.base_url}/_control/{partner}/{command}", json=payload or {}, timeout=30
        )
        if not response.ok:
            raise AssertionError(f"{partner} {command}: {response.status_code} {response.text}")
        return response.json()

    def partner_state(self, partner: str) -> dict[str, Any]:
        """``GET /_control/<partner>/state``: what that simulator holds."""
        response = self._http.get(f"{self.base_url}/_control/{partner}/state", timeout=30)
        response.raise_for_status()
        return response.json()

    def partner_faults(self, partner: str, **values: Any) -> dict[str, Any]:
        """Set the given faults of one partner (``down=True``, ``methods=["POST"]``, ...)."""
        return self.control(partner, "faults", values)

    def reset(self) -> None:
        """Wipe the sandbox's state (and its faults)."""
        self._http.post(f"{self.base_url}/_control/reset", timeout=10).raise_for_status()

    # ------------------------------------------------------------------ wire

    def url_for(self, xml: bytes) -> str:
        """``{base_url}/{root element name}``, the IDS Next wire contract."""
        return f"{self.base_url}/{message_name(xml)}"

    def send(
        self,
        xml: bytes,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        """POST an OTA document the way the IDS Next provider does."""
        return self._http.post(
            self.url_for(xml),
            data=xml,
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "X-API-Key": self.api_key if api_key is None else api_key,
                "X-API-Secret": self.api_secret if api_secret is None else api_secret,
            },
            timeout=timeout,
        )


class HarnessThread:
    """The sandbox harness in a thread of the test process, on a free port.

    For tests of the harness and of one simulator's HTTP behaviour; end-to-end
    tests use :class:`RunningSandbox` (the real ``manage.py runsandbox``)::

        with HarnessThread({"booking_com": BookingSimulator}, tmp_path) as harness:
            harness.post("/booking_com/hotels/ota/OTA_HotelAvailNotif", body, headers=...)
            harness.control("booking_com", "new", {})
            harness.restart()  # a new server on the same state directory
    """

    def __init__(self, simulators: dict[str, Any], state_dir: Path) -> None:
        self.simulators = simulators
        self.state_dir = Path(state_dir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self._thread: Any = None
        self.http = requests.Session()

    @property
    def harness(self) -> Any:
        return self.server.harness

    def start(self) -> HarnessThread:
        import threading

        from sandbox.server import make_server

        self.server = make_server(self.simulators, state_dir=self.state_dir, port=self.port)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.http.close()  # first: no keep-alive request may reach a closing server
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server.harness.store.close()
            self.server = None
        self.http.close()
        self.http = requests.Session()

    def restart(self) -> HarnessThread:
        self.stop()
        return self.start()

    def __enter__(self) -> HarnessThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=60, **kwargs)

    def post(self, path: str, data: bytes = b"", **kwargs: Any) -> requests.Response:
        # Generous: on a loaded machine a first schema load alone takes seconds.
        return self.http.post(self.base_url + path, data=data, timeout=60, **kwargs)

    def control(self, partner: str, command: str, payload: dict[str, Any] | None = None) -> Any:
        """POST a control command; raises unless it is a 2xx, returns its JSON."""
        response = self.post(f"/_control/{partner}/{command}", json.dumps(payload or {}).encode())
        if not response.ok:
            raise AssertionError(f"{command}: {response.status_code} {response.text}")
        return response.json()

    def state(self, partner: str) -> dict[str, Any]:
        return self.get(f"/_control/{partner}/state").json()
