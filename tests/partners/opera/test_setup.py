"""``manage.py ensure_connection opera`` as the README gives it: sandbox defaults, and
a refusal without credentials outside the sandbox."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from bookings.seed import seed_pema_wellness
from channels.models import Connection
from partners.opera.simulator import APP_KEY, CLIENT_ID, HOTEL

README = Path(settings.BASE_DIR) / "README.md"


def readme_line() -> list[str]:
    (line,) = re.findall(r"^\.venv/bin/python manage\.py ensure_connection opera .*$",
                         README.read_text(), re.M)  # fmt: skip
    return shlex.split(line)[2:]


@pytest.mark.django_db
def test_the_readme_line_connects_to_the_sandbox_with_its_defaults():
    seed_pema_wellness()
    call_command(*readme_line())
    conn = Connection.objects.get(provider="opera")
    assert conn.base_url == settings.OPERA_BASE_URL and not conn.push_ari
    assert conn.settings == {"default_rate": "BAR-BB", "hotel_id": HOTEL, "external_system": "PEMA"}
    assert (conn.credentials["client_id"], conn.credentials["app_key"]) == (CLIENT_ID, APP_KEY)


@pytest.mark.django_db
def test_outside_the_sandbox_the_credentials_are_required(settings):
    seed_pema_wellness()
    settings.OPERA_BASE_URL = "https://gateway.example.com"
    with pytest.raises(CommandError, match="OPERA_CLIENT_ID"):
        call_command("ensure_connection", "opera", "--hotel", "PEMA")
    assert not Connection.objects.filter(provider="opera").exists()
