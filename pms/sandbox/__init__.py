"""The IDS Next sandbox: a stand-in for the hotel's PMS speaking OTA 2003/05 over HTTP.

Run it with ``manage.py runsandbox``; tests start it with ``tests.sandbox.RunningSandbox``.
It keeps its own SQLite state and never touches Pema's database.
"""

from pms.sandbox.server import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_HOTEL_CODE,
    DEFAULT_ROOM_TYPES,
    IDSNextSandbox,
    SandboxConfig,
    make_server,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_HOTEL_CODE",
    "DEFAULT_ROOM_TYPES",
    "IDSNextSandbox",
    "SandboxConfig",
    "make_server",
]
