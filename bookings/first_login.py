"""The first superuser of a development checkout, and how ``make run`` shows its login.

``ensure_superuser`` makes the user; when it generates the password it keeps
it in ``var/admin-password`` (owner-only, development only), so that
``show_admin_login``, run last before the processes start, can print the
admin URL, username and password where they do not scroll away. Once the
password is changed the kept copy no longer works; it is then deleted and
never shown again.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

CHANGE_PASSWORD = ".venv/bin/python manage.py changepassword {username}"


def _kept_password_file() -> Path:
    return Path(settings.VAR_DIR) / "admin-password"


@dataclass
class FirstSuperuser:
    """What ``ensure_superuser`` did."""

    username: str
    created: bool
    password_from_environment: bool = False
    # A generated password that is not kept (DEBUG off): to be shown now, once.
    show_once: str | None = None


def ensure_first_superuser() -> FirstSuperuser:
    """A superuser from ``PEMA_ADMIN_*`` (or a generated password) when there is none."""
    User = get_user_model()
    existing = User.objects.filter(is_superuser=True).order_by("pk").first()
    if existing is not None:
        return FirstSuperuser(existing.get_username(), created=False)
    username = os.environ.get("PEMA_ADMIN_USERNAME", "admin")
    email = os.environ.get("PEMA_ADMIN_EMAIL", "admin@example.com")
    given = os.environ.get("PEMA_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    User.objects.create_superuser(username=username, email=email, password=password)
    if given:
        return FirstSuperuser(username, created=True, password_from_environment=True)
    if not settings.DEBUG:
        # Production keeps no copy of a secret on disk: it is shown now or never.
        return FirstSuperuser(username, created=True, show_once=password)
    path = _kept_password_file()
    path.write_text(password)
    path.chmod(0o600)
    return FirstSuperuser(username, created=True)


@dataclass
class AdminLogin:
    """The lines ``make run`` prints last: where to sign in, as whom, with what."""

    url: str
    username: str | None
    password: str | None  # only while the generated one still works
    password_note: str

    def lines(self) -> list[str]:
        if self.username is None:
            return [f"Pema admin: {self.url} (no superuser yet: manage.py createsuperuser)"]
        change = CHANGE_PASSWORD.format(username=self.username)
        return [
            f"Pema admin:  {self.url}",
            f"Username:    {self.username}",
            f"Password:    {self.password or self.password_note}",
            f"Change it:   {change}  (or in the admin: top right, Change password)",
        ]


def admin_login(port: str | None = None) -> AdminLogin:
    """The admin URL of ``make run`` and the first superuser's login, as far as it is known."""
    url = f"http://127.0.0.1:{port or os.environ.get('PEMA_WEB_PORT') or '8000'}/admin/"
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        return AdminLogin(url, None, None, "")
    username = user.get_username()
    given = os.environ.get("PEMA_ADMIN_PASSWORD")
    if given and user.check_password(given):
        return AdminLogin(url, username, None, "the value of PEMA_ADMIN_PASSWORD")
    path = _kept_password_file()
    kept = path.read_text().strip() if path.exists() else ""
    if kept and user.check_password(kept):
        return AdminLogin(url, username, kept, "")
    if kept:
        path.unlink()  # changed since: the old one is of no use to anybody
    return AdminLogin(url, username, None, "(changed since it was generated; not shown)")
