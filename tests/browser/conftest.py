"""Browser fixtures: Debian's Chromium driven by pytest-playwright against the live server.

Nothing here downloads a browser: ``browser_type_launch_args`` points Playwright at
``/usr/bin/chromium`` (``scripts/ensure_browser.sh`` installs it), with the flags a
machine without outside network needs. Every test in this folder is marked
``browser`` (``-m browser`` selects them) and skips, loudly, when the browser is
missing outside CI.

Staff log in through a session cookie made with the test client, so a test spends
its time on the page it is about, not on the login form (one test drives the form).
Screenshots go to ``var/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

CHROMIUM = os.environ.get("PEMA_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

# Playwright's sync API keeps an event loop running in the main thread from the first
# browser test to the end of the session; the ORM calls tests make there (and the
# live server's teardown) are still plain synchronous code. Subprocesses the suite
# starts for production-like checks drop the variable (tests/project/test_settings.py).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

WIDE = {"width": 1440, "height": 900}
NARROW = {"width": 1024, "height": 768}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    missing = not os.access(CHROMIUM, os.X_OK)
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": WIDE, "locale": "en-GB"}


@pytest.fixture
def staff_user(db) -> Callable[..., object]:
    """Make a staff user in one of the staff groups (Front office, Revenue, Administrator)."""
    from bookings.staff_groups import sync_staff_groups

    sync_staff_groups()

    def make(group: str, username: str | None = None, **extra):
        username = username or group.lower().replace(" ", "_")
        user = get_user_model().objects.create_user(
            username=username, password="browser-test-pass", is_staff=True, **extra
        )
        user.groups.add(Group.objects.get(name=group))
        return user

    return make


@pytest.fixture
def login_as(live_server, context) -> Callable[[object], None]:
    """Put a logged-in session for ``user`` into the browser context."""

    def login(user) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": cookie.value,
                    "url": live_server.url,
                }
            ]
        )

    return login


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as var/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflowing_elements(page) -> list[str]:
    """Elements whose right edge passes the viewport's (clipped for the user), as short labels.

    Elements inside a box that scrolls horizontally are fine: the user can scroll to them.
    """
    return page.evaluate(
        """() => {
        const width = document.documentElement.clientWidth;
        const scrolls = (el) => {
            for (let p = el.parentElement; p; p = p.parentElement) {
                const s = getComputedStyle(p);
                const box = s.overflowX === 'auto' || s.overflowX === 'scroll';
                if (box && p.scrollWidth > p.clientWidth) return true;
            }
            return false;
        };
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            if (getComputedStyle(el).visibility === 'hidden') continue;
            if (r.right > width + 1 && !scrolls(el)) {
                const cls = typeof el.className === 'string' && el.className
                    ? '.' + el.className.split(' ').join('.') : '';
                const id = el.id ? '#' + el.id : '';
                out.push(`${el.tagName.toLowerCase()}${id}${cls} right=${Math.round(r.right)}`);
            }
        }
        return out.slice(0, 20);
    }"""
    )
