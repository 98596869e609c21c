"""The README's API walk-through runs as written, against a live server on the seeded hotel.

The shell blocks of the README's "## API" section that use ``$API`` are taken
from the README itself and run with bash. Only two things are substituted:
``API`` points at the live test server, and ``KEY`` is made by the README's
own ``create_api_key`` command line, run in-process on the test database. Every
``curl`` fails the script on an HTTP error (``--fail-with-body``), so a wrong
``expected_total``, a date in the past or a missing tool fails this test.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from bookings.models import Hotel, Reservation
from bookings.seed import seed_pema_wellness

ROOT = Path(settings.BASE_DIR)
KEY_LINE = re.compile(r"^KEY=\$\((?P<command>.*?)\)\s*$", re.S | re.M)
CURL_GUARD = 'curl() { command curl --fail-with-body --show-error "$@"; echo; }\n'


def api_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## API\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def walkthrough_blocks() -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", api_section(), re.S | re.M)
    return [block for block in blocks if "$API" in block]


def _joined(block: str) -> str:
    return block.replace("\\\n", " ")


def key_command(blocks: list[str]) -> list[str]:
    """The arguments of the README's ``KEY=$(... manage.py create_api_key ...)`` line."""
    match = KEY_LINE.search(_joined(blocks[0]))
    assert match, "the walk-through must start by making a key into KEY"
    argv = shlex.split(match["command"])
    assert argv[1:3] == ["manage.py", "create_api_key"], argv
    return argv[3:]


def script(blocks: list[str], key: str, api: str) -> str:
    lines = []
    for block in blocks:
        for line in _joined(block).splitlines():
            if KEY_LINE.match(line):
                line = f"KEY={shlex.quote(key)}"
            elif line.startswith("API="):
                line = f"API={shlex.quote(api)}"
            lines.append(line)
    return "set -euo pipefail\n" + CURL_GUARD + "\n".join(lines) + "\n"


def test_the_walkthrough_uses_only_tools_every_machine_has():
    text = "\n".join(walkthrough_blocks())
    assert "uuidgen" not in text
    assert "PEMA-7K2M9Q" not in text, "a made-up confirmation number cannot be fetched"
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b(?!T)", text), "stay dates must not be fixed"


@pytest.mark.django_db(transaction=True)
def test_the_readme_walkthrough_runs_against_a_live_server(live_server, settings):
    if not shutil.which("curl") or not shutil.which("bash"):
        pytest.skip("needs curl and bash")
    settings.PEMA_CALENDAR_DAYS = 60  # the walk-through books 30 days ahead
    seed_pema_wellness()
    blocks = walkthrough_blocks()
    out = io.StringIO()
    call_command("create_api_key", *key_command(blocks), stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    result = subprocess.run(
        ["bash", "-c", script(blocks, key, f"{live_server.url}/api/v1")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    hotel = Hotel.objects.get(code="PEMA")
    reservation = Reservation.objects.get(hotel=hotel)
    booked = json.loads(
        next(line for line in result.stdout.splitlines() if '"confirmation_number"' in line)
    )
    assert booked["confirmation_number"] == reservation.confirmation_number
    assert booked["total_amount"] == 2_800_000 and booked["room_type"] == "EXT"
    assert reservation.status == Reservation.Status.CANCELLED
    # The PATCH moved the check-out to the day after the booked one.
    assert reservation.check_out - reservation.check_in == timedelta(days=3)
