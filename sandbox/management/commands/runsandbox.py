"""``manage.py runsandbox``: every partner simulator, one process, one port, in the foreground.

Each simulator of ``PEMA_SANDBOX_SIMULATORS`` is served under ``/<partner>/``
(control at ``/_control/<partner>/``). A simulator may add its own options
(:meth:`sandbox.simulator.Simulator.add_arguments`), and the one that says
``serves_root`` (IDS Next's) also answers the paths under no partner
(``POST /OTA_*RQ``, ``/_control/state|faults|reset``).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from sandbox.server import make_server
from sandbox.simulator import Simulator


def simulator_classes() -> dict[str, type[Simulator]]:
    """``PEMA_SANDBOX_SIMULATORS`` loaded: partner -> simulator class."""
    registered = settings.PEMA_SANDBOX_SIMULATORS
    return {partner: import_string(path) for partner, path in registered.items()}


class Command(BaseCommand):
    help = "Run the partner sandbox: every simulator of PEMA_SANDBOX_SIMULATORS on one port."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument(
            "--state-dir",
            default=None,
            help="Directory of the sandbox's SQLite state (default: <var dir>/sandbox).",
        )
        for simulator in simulator_classes().values():
            simulator.add_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        state_dir = Path(str(options["state_dir"] or Path(settings.VAR_DIR) / "sandbox"))
        classes = simulator_classes()
        roots = [partner for partner, simulator in classes.items() if simulator.serves_root]
        if len(roots) > 1:
            raise CommandError(f"Only one simulator may serve the root paths, not {roots}.")
        simulators = {partner: cls.from_options(options) for partner, cls in classes.items()}
        host, port = str(options["host"]), int(options["port"])  # type: ignore[call-overload]
        server = make_server(
            simulators, state_dir=state_dir, host=host, port=port, root=roots[0] if roots else None
        )
        host, port = server.server_address[:2]
        self.stdout.write(
            f"Sandbox on http://{host}:{port}/ (state in {state_dir}); control page at /_control/"
        )
        for partner, simulator in server.harness.simulators.items():  # type: ignore[attr-defined]
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
