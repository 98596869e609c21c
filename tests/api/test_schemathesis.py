"""Property-based run of the OpenAPI schema against the app in-process (schemathesis).

Every operation is called with generated input and a valid key; no answer may
be a 5xx, an undocumented status, or a body that breaks the schema.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from bookings.api_keys import issue_key
from bookings.reservations import GuestDetails, reserve_stay
from pema.wsgi import application
from tests.factories import sellable_hotel

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def fuzz_target(db):
    # The real WSGI app closes "old" connections around each request, which would
    # close the test's transaction; Django's test client switches this off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield _make_target()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _make_target() -> dict:
    hotel = sellable_hotel(code="FUZZ", rooms={"DBL": 3})
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
    raw = issue_key(
        name="fuzz",
        hotels=[hotel],
        scopes=["availability:read", "bookings:read", "bookings:write"],
    ).raw
    return {"hotel": hotel.code, "booking": booking.confirmation_number, "key": raw}


@pytest.mark.django_db
@schema.include(path_regex="^/api/v1/(hotels|bookings|auth)").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_schema(case, fuzz_target):
    # Aim most calls at objects that exist, so they reach the real logic.
    if "hotel_code" in (case.path_parameters or {}):
        case.path_parameters["hotel_code"] = fuzz_target["hotel"]
    if "confirmation_number" in (case.path_parameters or {}):
        case.path_parameters["confirmation_number"] = fuzz_target["booking"]
    headers = {"Authorization": f"Bearer {fuzz_target['key']}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
