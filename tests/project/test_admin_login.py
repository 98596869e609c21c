"""`make run` ends its set-up with the admin URL, username and password (and how to change
the password), so the login does not scroll away in the processes' output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def var_dir(tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # what `make run` runs with (pytest-django turns it off)
    for name in ("PEMA_ADMIN_USERNAME", "PEMA_ADMIN_EMAIL", "PEMA_ADMIN_PASSWORD", "PEMA_WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def shown(lines: list[str]) -> dict[str, str]:
    return dict(re.match(r"(\w[\w ]*?):\s+(.*)$", line).groups() for line in lines[1:-1])


@pytest.mark.django_db
def test_the_login_is_shown_last_and_works(var_dir):
    run("ensure_superuser")
    lines = run("show_admin_login")
    fields = shown(lines)
    assert fields["Pema admin"] == "http://127.0.0.1:8000/admin/"
    assert fields["Username"] == "admin"
    assert authenticate(username="admin", password=fields["Password"]) is not None
    assert "manage.py changepassword admin" in fields["Change it"]
    assert (var_dir / "admin-password").stat().st_mode & 0o077 == 0  # owner-only
    # Shown again by the next `make run`, while it still works.
    run("ensure_superuser")
    assert shown(run("show_admin_login")) == fields


@pytest.mark.django_db
def test_a_changed_password_is_never_shown_again(var_dir):
    run("ensure_superuser")
    old = shown(run("show_admin_login"))["Password"]
    user = get_user_model().objects.get(username="admin")
    user.set_password("a new one, chosen by the admin")
    user.save()
    fields = shown(run("show_admin_login"))
    assert old not in fields["Password"] and "changed" in fields["Password"]
    assert not (var_dir / "admin-password").exists()


@pytest.mark.django_db
def test_a_password_from_the_environment_is_named_not_printed(var_dir, monkeypatch):
    monkeypatch.setenv("PEMA_ADMIN_USERNAME", "owner")
    monkeypatch.setenv("PEMA_ADMIN_PASSWORD", "from the environment 42")
    monkeypatch.setenv("PEMA_WEB_PORT", "8123")
    run("ensure_superuser")
    fields = shown(run("show_admin_login"))
    assert fields["Pema admin"] == "http://127.0.0.1:8123/admin/"
    assert fields["Username"] == "owner"
    assert fields["Password"] == "the value of PEMA_ADMIN_PASSWORD"
    assert not (var_dir / "admin-password").exists()


@pytest.mark.django_db
def test_production_keeps_no_copy_and_shows_the_password_once(var_dir, settings):
    settings.DEBUG = False
    [line] = run("ensure_superuser")
    password = re.search(r"with password (\S+)\.", line)[1]
    assert authenticate(username="admin", password=password) is not None
    assert not (var_dir / "admin-password").exists()


def test_make_run_shows_the_login_last_before_the_processes_start():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = [
        line.strip() for line in recipe.splitlines()[1:] if not line.strip().startswith("@#")
    ]
    assert commands[-1].endswith("honcho -f Procfile start")
    assert commands[-2].endswith("manage.py show_admin_login")
