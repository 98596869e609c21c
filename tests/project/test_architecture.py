"""Imports point the way the design says: partners never import ``bookings``.

A partner is handed typed values by the engine (``channels/interface.py``) and
returns typed values; reading and writing reservations, and turning the
hotel's models into those values, is the engine's work.
The check reads each module's imports with ``ast`` (not by text search), so a
mention in a docstring is no import and an import under ``TYPE_CHECKING`` is
one: a partner that needs a model's type is a partner reaching into them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
FORBIDDEN = "bookings"


def forbidden_imports(source: str, forbidden: str = FORBIDDEN) -> list[tuple[int, str]]:
    """(line, import as written) of every import of ``forbidden`` or anything in it."""
    package, _, name = forbidden.rpartition(".")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {alias.name}")
                for alias in node.names
                if alias.name == forbidden or alias.name.startswith(forbidden + ".")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module == forbidden or module.startswith(forbidden + "."):
                found.append((node.lineno, f"from {module} import ..."))
            elif module == package and any(alias.name == name for alias in node.names):
                found.append((node.lineno, f"from {module} import {name}"))
    return found


def test_the_check_sees_every_way_of_importing_bookings():
    assert forbidden_imports("from bookings.models import Reservation")
    assert forbidden_imports("import bookings.models as m")
    assert forbidden_imports("from bookings import models")
    assert forbidden_imports("import bookings")
    assert forbidden_imports("def f():\n    from bookings.models.sub import X")
    assert forbidden_imports(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bookings.external import Q"
    )
    assert forbidden_imports("from bookings.errors import E")
    assert not forbidden_imports('"""Never bookings."""\nfrom channels.interface import X')
    assert not forbidden_imports("import bookingsx")
    assert not forbidden_imports("from .models import X")  # a partner's own module


def test_no_partner_imports_bookings():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {statement}"
        for path in sorted((ROOT / "partners").rglob("*.py"))
        for line, statement in forbidden_imports(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "partners/ must not import bookings:\n" + "\n".join(offenders)


def _offenders(folder: str, forbidden: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {statement}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, statement in forbidden_imports(path.read_text(encoding="utf-8"), forbidden)
    ]


def test_bookings_and_channels_never_import_payments():
    # payments uses bookings and channels; bookings hears of it only through
    # bookings/extensions.py (a dotted path in PEMA_BOOKING_EXTENSIONS).
    offenders = _offenders("bookings", "payments") + _offenders("channels", "payments")
    assert not offenders, "bookings/ and channels/ must not import payments:\n" + "\n".join(
        offenders
    )


def test_partners_never_import_payments():
    offenders = _offenders("partners", "payments")
    assert not offenders, "partners/ must not import payments:\n" + "\n".join(offenders)


def test_the_payu_endpoints_are_the_only_csrf_exempt_views_of_payments():
    from django.urls import get_resolver

    exempt = sorted(
        pattern.name
        for pattern in get_resolver("payments.urls").url_patterns
        if getattr(pattern.callback, "csrf_exempt", False)
    )
    assert exempt == ["payu-return", "payu-webhook"]
