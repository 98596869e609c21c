"""The booking webhook's curl example in partners/mock/README.md works as written.

The shell block that posts to ``$PEMA/api/v1/pms/mock/bookings/`` is taken from
the README itself and run with bash against a live server; only the line
``PEMA=...`` is pointed at the test server. The mock connection is made by the
README's own ``ensure_connection`` command line.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from bookings.models import Reservation
from bookings.seed import seed_pema_wellness
from channels.models import InboundMessage
from pms.models import PmsSyncLog

README = Path(settings.BASE_DIR) / "partners" / "mock" / "README.md"


def blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.S | re.M)


def command_line(block: str) -> list[str]:
    return shlex.split(block.replace("\\\n", " "))


@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_example_posts_a_booking_that_is_applied(live_server):
    if not shutil.which("curl") or not shutil.which("bash"):
        pytest.skip("needs curl and bash")
    setup, hook = blocks()
    seed_pema_wellness()  # the README speaks of the seeded hotel (EXQ, BAR-BB)
    argv = command_line(setup)
    assert argv[1:3] == ["manage.py", "ensure_connection"]
    call_command(*argv[2:])
    assert hook.startswith("PEMA=")
    script = re.sub(r"^PEMA=.*$", f"PEMA={live_server.url}", hook, count=1, flags=re.M)
    from pema.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        app.conf.task_always_eager = previous
    assert done.returncode == 0, done.stderr
    assert '"success":true' in done.stdout.replace(" ", "")
    message = InboundMessage.objects.get(partner_reservation_id="MOCK-WALKIN-1")
    assert (message.status, message.correlation_id) == ("applied", "demo-0001")
    reservation = Reservation.objects.get(external_id="MOCK-WALKIN-1")
    assert reservation.source == Reservation.Source.PMS
    assert reservation.total_amount == 2_800_000
    assert PmsSyncLog.objects.get(correlation_id="demo-0001").status == "completed"
