"""The sandbox harness: one HTTP server for every registered simulator.

Routes (one process, one port):

- ``/<partner>/...``: the partner's simulator (:meth:`Simulator.handle`), with
  that partner's faults applied first;
- ``GET /_control/<partner>/`` the control page, ``GET .../state``,
  ``GET|POST .../faults``, ``POST .../reset`` (wipes the partner's state and
  faults) and ``POST .../<command>`` (the simulator's own commands, JSON in
  and out); ``GET /_control/partners`` lists the partners;
- with a ``root`` partner (IDS Next, which keeps the paths it had before the
  harness), every other path is that partner's: ``POST /OTA_PingRQ`` is its
  call, ``/_control/faults`` its control, ``/`` redirects to its page;
  without one, anything else is 404.

Faults apply to partner calls, never to control calls, in this order: down
(the connection closes with no answer), slow, 429 with ``Retry-After``,
fail % (500), forced status, malformed, then the call itself (truncated or
dripped if asked). Faults live in memory; the state store survives restarts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.utils.module_loading import import_string

from sandbox.faults import Faults
from sandbox.http import BadFraming, HardenedRequestHandler
from sandbox.simulator import (
    CommandError,
    Request,
    Response,
    Simulator,
    SimulatorContext,
    json_payload,
)
from sandbox.store import PartnerStore, StateStore

#: A simulator class, or any callable making one from its context (e.g. a ``partial``).
SimulatorFactory = Callable[[SimulatorContext], Simulator]
CONTROL = "/_control/"
CONTROL_MAX_BYTES = 64 * 1024


class Harness:
    """The simulators, their faults and the shared store, independent of HTTP."""

    def __init__(
        self,
        simulators: Mapping[str, SimulatorFactory | str],
        state_dir: Path,
        root: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.store = StateStore(state_dir)
        self.simulators: dict[str, Simulator] = {}
        self.faults: dict[str, Faults] = {}
        self.faults_lock = threading.Lock()
        if root is not None and root not in simulators:
            raise ValueError(f"root partner {root!r} is not among the simulators")
        self.root = root
        for partner, factory in simulators.items():
            make = import_string(factory) if isinstance(factory, str) else factory
            self.faults[partner] = Faults()
            context = SimulatorContext(
                partner,
                PartnerStore(self.store, partner),
                state_dir,
                faults=lambda partner=partner: self.get_faults(partner),
            )
            self.simulators[partner] = make(context)

    def set_faults(self, partner: str, values: dict[str, Any]) -> dict[str, Any]:
        with self.faults_lock:
            trial = Faults(**self.faults[partner].as_dict())
            trial.update(values)  # all or nothing: a bad value changes no fault
            trial.calls = self.faults[partner].calls
            self.faults[partner] = trial
            return trial.as_dict()

    def get_faults(self, partner: str) -> dict[str, Any]:
        with self.faults_lock:
            return self.faults[partner].as_dict()

    def reset(self, partner: str) -> None:
        self.store.reset(partner)
        with self.faults_lock:
            self.faults[partner] = Faults()
        self.simulators[partner].reset()


CONTROL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__ sandbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}
pre{background:#f4f4f4;padding:1rem;overflow:auto;max-height:40rem}label{margin-right:1rem}</style>
</head><body><h1>__TITLE__ sandbox</h1>
<p>Served under <code>/__PARTNER__/</code>;
control API under <code>/_control/__PARTNER__/</code>.</p>
<h2>Faults</h2><form id="faults">
<label><input type="checkbox" name="down"> down</label>
<label><input type="checkbox" name="malformed"> malformed</label>
<label>slow ms <input type="number" name="slow_ms" min="0" value="0"></label>
<label>fail % <input type="number" name="fail_percent" min="0" max="100" value="0"></label>
<label>status <input type="number" name="status" min="400" max="599"></label>
<label>429 Retry-After s <input type="number" name="retry_after" min="0"></label>
<button type="submit">Apply</button> <button type="button" id="reset">Reset state</button>
</form><h2>Command</h2><form id="command"><input name="name" placeholder="command">
<input name="payload" size="60" value="{}"> <button type="submit">Send</button></form>
<pre id="answer"></pre><h2>State</h2><pre id="state">loading...</pre>
<script>
const num=v=>v===''?null:+v;
async function refresh(){
 const [s,f]=await Promise.all([fetch('state'),fetch('faults')]);
 document.getElementById('state').textContent=JSON.stringify(await s.json(),null,2);
 const x=await f.json(),form=document.getElementById('faults');
 form.down.checked=x.down;form.malformed.checked=x.malformed;form.slow_ms.value=x.slow_ms;
 form.fail_percent.value=x.fail_percent;form.status.value=x.status??'';
 form.retry_after.value=x.retry_after??'';}
document.getElementById('faults').onsubmit=async e=>{e.preventDefault();const f=e.target;
 await fetch('faults',{method:'POST',body:JSON.stringify({down:f.down.checked,
  malformed:f.malformed.checked,slow_ms:+f.slow_ms.value,fail_percent:+f.fail_percent.value,
  status:num(f.status.value),retry_after:num(f.retry_after.value)})});refresh();};
document.getElementById('command').onsubmit=async e=>{e.preventDefault();const f=e.target;
 const r=await fetch(f.name.value,{method:'POST',body:f.payload.value});
 document.getElementById('answer').textContent=await r.text();refresh();};
document.getElementById('reset').onclick=async()=>{
 if(confirm('Wipe this simulator state?')){await fetch('reset',{method:'POST'});refresh();}};
refresh();
</script></body></html>
"""


class HarnessRequestHandler(HardenedRequestHandler):
    """Routes ``/<partner>/`` and ``/_control/<partner>/``; the rest to the parent class."""

    server_version = "PemaSandbox/1.0"
    harness: Harness  # set on the subclass made by make_server()

    def _split(self) -> tuple[str, str | None, str]:
        """(route, partner, rest): ``call`` or ``control`` of a partner, ``partners``, or ``""``."""
        path = urlsplit(self.path).path
        root = self.harness.root
        if path in ("/_control", CONTROL.rstrip("/")):
            path = CONTROL
        control = path.startswith(CONTROL)
        head, _, rest = path[len(CONTROL) if control else 1 :].partition("/")
        if head in self.harness.simulators:
            return ("control" if control else "call"), head, "/" + rest
        if control and head == "partners":
            return "partners", None, ""
        if root is not None:
            if path == "/":
                return "home", root, ""
            rest = path[len(CONTROL) - 1 :] if control else path
            return ("control" if control else "call"), root, rest
        return "", None, path

    def _not_found(self) -> None:
        self.close_connection = True  # a body may be left unread
        self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802 - http.server's naming
        self._route("DELETE")

    def _route(self, method: str) -> None:
        where, partner, rest = self._split()
        try:
            if where == "call":
                self._call(method, partner, rest)  # type: ignore[arg-type]
            elif where == "control":
                self._control(method, partner, rest)  # type: ignore[arg-type]
            elif where == "partners" and method == "GET":
                self._json({name: sim.title for name, sim in self.harness.simulators.items()})
            elif where == "home" and method == "GET":
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", CONTROL)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._not_found()
        except BadFraming as bad:
            self._refuse(bad.status, bad.message)

    # ------------------------------------------------------------ partner calls

    def _call(self, method: str, partner: str, rest: str) -> None:
        harness = self.harness
        simulator = harness.simulators[partner]
        body = self._read_body(simulator.max_body_bytes)
        with harness.faults_lock:
            faults = harness.faults[partner]
            applies = faults.applies_to(method)
            snapshot = Faults(**faults.as_dict()) if applies else Faults()
            fail = faults.should_fail() if applies and faults.fail_percent else False
        if snapshot.down:
            self.close_connection = True  # look unreachable: no status line at all
            return
        if snapshot.slow_ms:
            time.sleep(snapshot.slow_ms / 1000)
        if snapshot.retry_after is not None:
            self._answer(
                Response(
                    status=429,
                    body=b"Too Many Requests (sandbox fault)\n",
                    content_type="text/plain",
                    headers={"Retry-After": str(snapshot.retry_after)},
                )
            )
            return
        if fail:
            self._send(500, b"Internal Server Error (sandbox fault)\n", "text/plain")
            return
        if snapshot.status is not None:
            self._answer(simulator.error_response(snapshot.status))
            return
        if snapshot.malformed:
            self._answer(simulator.malformed_response())
            return
        split = urlsplit(self.path)
        request = Request(
            method=method,
            path=rest,
            query=parse_qs(split.query),
            headers={k: v for k, v in self.headers.items()},
            body=body or b"",
        )
        if body is None:
            self.close_connection = True  # the unread body must not be taken as a request
            self._answer(simulator.too_large_response(request))
            return
        try:
            response = simulator.handle(request)
        except Exception as exc:  # noqa: BLE001 - the sandbox answers, it does not hang up
            self.log_error("simulator %s failed: %r", partner, exc)
            response = Response(
                status=500, body=f"simulator error: {exc!r}\n".encode(), content_type="text/plain"
            )
        if snapshot.truncate:
            response = Response(
                status=response.status,
                body=response.body[: len(response.body) // 2],
                content_type=response.content_type,
                headers=response.headers,
            )
        self._answer(response, drip_ms=snapshot.drip_ms)

    def _answer(self, response: Response, *, drip_ms: int = 0) -> None:
        self._send(
            response.status,
            response.body,
            response.content_type,
            drip_ms=drip_ms,
            headers=dict(response.headers),
        )

    # ------------------------------------------------------------------ control

    def _control(self, method: str, partner: str, rest: str) -> None:
        harness = self.harness
        simulator = harness.simulators[partner]
        command = rest.strip("/")
        if method == "GET":
            if command == "":
                page = simulator.control_page() or CONTROL_PAGE.replace(
                    "__TITLE__", simulator.title
                ).replace("__PARTNER__", partner)
                self._send(200, page.encode(), "text/html; charset=utf-8")
            elif command == "state":
                self._json(simulator.snapshot())
            elif command == "faults":
                self._json(harness.get_faults(partner))
            else:
                self._not_found()
            return
        if method != "POST":
            self._send(405, b"use GET or POST\n", "text/plain; charset=utf-8")
            return
        body = self._read_body(CONTROL_MAX_BYTES)
        if body is None:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Control requests are at most 64 KB.")
            return
        try:
            payload = json_payload(body)
            if command == "faults":
                self._json(harness.set_faults(partner, payload))
            elif command == "reset":
                harness.reset(partner)
                self._json({"reset": True})
            elif command:
                self._json(simulator.command(command, payload))
            else:
                self._not_found()
        except (CommandError, ValueError, TypeError) as exc:
            self._json({"error": str(exc)}, 400)


def make_server(
    simulators: Mapping[str, SimulatorFactory | str],
    *,
    state_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8100,
    root: str | None = None,
) -> ThreadingHTTPServer:
    """A ready-to-serve server (call ``serve_forever()``); the harness is ``server.harness``.

    ``root`` names the partner that also answers every path not under another
    partner (see the module docstring).
    """
    harness = Harness(simulators, state_dir, root)
    handler = type("BoundHarnessRequestHandler", (HarnessRequestHandler,), {"harness": harness})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.harness = harness  # type: ignore[attr-defined]
    return server
