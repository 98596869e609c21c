"""Property-based run of the OpenAPI schema against the app in-process (schemathesis).

Every operation of the schema (booking engine, IDS staff endpoints, backups,
connections) is called with generated input, schema-valid and schema-violating,
under a key that holds every scope and reaches every hotel, and every answer goes
through schemathesis' checks, as ``schemathesis run --checks all`` would: no
5xx, no undocumented status, content type or header, no body that breaks the
schema, violating input refused, missing auth and a missing required header
refused, unsupported methods answered 405.

One check is left out, ``positive_data_acceptance``: it expects a 2xx for any
schema-valid request, but the booking rules are more than OpenAPI can say
(check-in not in the past, check-out after check-in, room types and plans
that exist at the hotel), so a schema-valid stay is often rightly refused
with a 400 in the error shape, which the other checks still validate.

Bounded: a fixed number of examples per operation and no deadline, so the
whole run takes well under a minute on a quiet machine.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from backups import service
from bookings.api_keys import issue_key
from bookings.models import Hotel
from bookings.reservations import GuestDetails, reserve_stay
from channels.models import Connection
from pema.wsgi import application
from tests.factories import sellable_hotel

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
EXCLUDED_CHECKS = [checks.positive_data_acceptance]
SCOPES = [
    "availability:read",
    "bookings:read",
    "bookings:write",
    "ids:admin",
    "backups:admin",
    "channels:admin",
]
EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def fuzz_target(db, settings, tmp_path):
    # The real WSGI app closes "old" connections around each request, which would
    # close the test's transaction; Django's test client switches this off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "backups")},
        },
    }
    # The fuzzer calls far faster than any client, and sends requests without a
    # key on purpose (to check they are refused): limits would only hide answers.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "api_key": "100000/min",
            "api_anon": "100000/min",
            "auth_failure": "100000/min",
        },
    }
    try:
        yield _make_target()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _make_target() -> dict:
    hotel = sellable_hotel(code="FUZZ", rooms={"DBL": 3}, days=21)
    check_in = hotel.today() + timedelta(days=2)
    booking = reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        adults=2,
        guest=GuestDetails("Fuzz", "Guest", "fuzz@example.com"),
        source="booking_engine",
    )
    # A small backup (users and groups only), so restore and delete reach real logic.
    backup = service.create_backup(apps=["auth"])
    # An IDS Next connection whose partner refuses connections at once (the discard port),
    # so test, sync and full sync reach the real logic without waiting on a network. It
    # is another hotel's, so the IDS endpoints (aimed at FUZZ) still find none to call.
    connection = Connection.objects.create(
        hotel=sellable_hotel(code="FUZZ2", rooms={"DBL": 1}, days=7),
        provider="ids_next",
        name="Fuzz IDS",
        base_url="http://127.0.0.1:9",
        settings={"hotel_code": "FUZZ"},
        credentials={"api_key": "k", "api_secret": "s"},
    )
    raw = issue_key(name="fuzz", hotels=Hotel.objects.all(), scopes=SCOPES).raw
    return {
        "hotel": hotel.code,
        "booking": booking.confirmation_number,
        "backup": backup.pk,
        "connection": connection.pk,
        "key": raw,
    }


def _aim(case, target: dict) -> None:
    """Point schema-valid calls at objects that exist, so they reach the real logic."""
    if case.meta is not None and not case.meta.generation.mode.is_positive:
        return  # a schema-violating call must stay violating
    aims = {"hotel_code": "hotel", "confirmation_number": "booking", "id": "backup"}
    if case.path.startswith("/api/v1/connections/"):
        aims["id"] = "connection"
    for name, key in aims.items():
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = target[key]
    if isinstance(case.body, dict) and isinstance(case.body.get("hotel"), str):
        case.body["hotel"] = target["hotel"]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_schema(case, fuzz_target):
    _aim(case, fuzz_target)
    headers = {"Authorization": f"Bearer {fuzz_target['key']}"}
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
