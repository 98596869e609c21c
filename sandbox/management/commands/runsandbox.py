"""``manage.py runsandbox``: every partner simulator, one process, one port, in the foreground.

Each simulator of ``PEMA_SANDBOX_SIMULATORS`` is served under ``/<partner>/``
(control at ``/_control/<partner>/``); the IDS Next sandbox is ``ids_next``
and keeps its root paths too (``POST /OTA_*RQ``, ``/_control/state|faults|reset``).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from pms.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_HOTEL_CODE,
    DEFAULT_ROOM_TYPES,
    SandboxConfig,
)
from pms.sandbox.server import PARTNER as IDS_NEXT
from pms.sandbox.server import IDSNextSimulator
from sandbox.server import make_server


class Command(BaseCommand):
    help = "Run the partner sandbox: every registered simulator plus the IDS Next PMS simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument(
            "--state-dir",
            default=None,
            help="Directory of the sandbox's SQLite state (default: <var dir>/sandbox).",
        )
        parser.add_argument(
            "--api-key", default=os.environ.get("IDS_SANDBOX_API_KEY", DEFAULT_API_KEY)
        )
        parser.add_argument(
            "--api-secret", default=os.environ.get("IDS_SANDBOX_API_SECRET", DEFAULT_API_SECRET)
        )
        parser.add_argument("--hotel-code", default=DEFAULT_HOTEL_CODE)
        parser.add_argument(
            "--room-types",
            default=",".join(DEFAULT_ROOM_TYPES),
            help="Comma-separated room type codes the IDS Next sandbox knows.",
        )

    def handle(self, *args: object, **options: object) -> None:
        state_dir = Path(str(options["state_dir"] or Path(settings.VAR_DIR) / "sandbox"))
        room_types = tuple(c.strip() for c in str(options["room_types"]).split(",") if c.strip())
        config = SandboxConfig(
            state_dir=state_dir,
            host=str(options["host"]),
            port=int(options["port"]),  # type: ignore[arg-type]
            api_key=str(options["api_key"]),
            api_secret=str(options["api_secret"]),
            hotel_code=str(options["hotel_code"]),
            room_types=room_types,
        )
        # IDS Next takes its settings from the command line, so it is added here.
        simulators = {
            IDS_NEXT: partial(IDSNextSimulator, config=config),
            **settings.PEMA_SANDBOX_SIMULATORS,
        }
        server = make_server(
            simulators, state_dir=state_dir, host=config.host, port=config.port, root=IDS_NEXT
        )
        host, port = server.server_address[:2]
        self.stdout.write(
            f"IDS Next sandbox on http://{host}:{port}/ (hotel {config.hotel_code}, "
            f"state in {state_dir}); control page at /_control/",
        )
        for partner, simulator in server.harness.simulators.items():  # type: ignore[attr-defined]
            if partner == IDS_NEXT:
                continue
            note = simulator.describe()
            self.stdout.write(
                f"{partner} simulator on http://{host}:{port}/{partner}/; "
                f"control page at /_control/{partner}/" + (f" ({note})" if note else "")
            )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
