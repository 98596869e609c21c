"""The seed's PMS endpoints: the sync API and the booking webhook, as a caller sees them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from bookings.api_keys import issue_key
from bookings.models import Reservation
from channels.models import InboundMessage
from pms.models import PmsSyncLog

pytestmark = pytest.mark.django_db
HOOK = "/api/v1/pms/mock/bookings/"


def key_client(hotel, scopes):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_key(name='t', hotels=[hotel], scopes=scopes).raw}"
    )
    return client


def booking(hotel, *, status="confirmed", booking_id="PMS-77", updated="2026-12-01T10:00:00Z"):
    today = hotel.today()
    return {
        "booking": {
            "id": booking_id,
            "status": status,
            "guest": {"first_name": "Asha", "last_name": "Rao", "email": "asha@example.com"},
            "stay": {
                "check_in": (today + timedelta(days=5)).isoformat(),
                "check_out": (today + timedelta(days=7)).isoformat(),
                "room_type": "EXQ",
                "rate_plan": "BAR",
                "adults": 2,
            },
            "totals": {"amount": "18000.00", "currency": "INR"},
            "channel": "walk-in",
            "updated_at": updated,
        }
    }


def post_hook(
    client, body, *, token="mock-webhook-secret", slug="pema", provider="mock", **headers
):
    return client.post(
        f"/api/v1/pms/{provider}/bookings/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_PROVIDER_TOKEN=token,
        HTTP_X_HOTEL_SLUG=slug,
        **headers,
    )


def test_the_sync_api_needs_the_pms_admin_scope(hotel, mock):
    answer = key_client(hotel, ["bookings:read"]).post(
        "/api/v1/pms/sync/bookings/", {"provider": "mock"}, format="json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"


def test_the_sync_api_runs_in_celery_and_waits_when_asked(hotel, mock, eager):
    client = key_client(hotel, ["pms:admin"])
    answer = client.post("/api/v1/pms/sync/rooms/?wait=true", {"provider": "mock"}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["success"] is True
    assert body["summary"]["processed"] == 5 and body["summary"]["failed"] == 0
    log = PmsSyncLog.objects.get(pk=body["sync_log_id"])
    assert (log.entity, log.operation, log.status) == ("room", "manual", "completed")


def test_the_sync_api_takes_since_and_limit(hotel, mock, eager):
    client = key_client(hotel, ["pms:admin"])
    answer = client.post(
        "/api/v1/pms/sync/bookings/?wait=true",
        {"provider": "mock", "limit": 4, "since": None},
        format="json",
    )
    assert answer.json()["summary"]["processed"] == 4
    assert Reservation.objects.filter(hotel=hotel).count() == 4


def test_the_sync_api_refuses_an_unknown_provider_and_a_hotel_without_it(hotel, mock):
    client = key_client(hotel, ["pms:admin"])
    answer = client.post("/api/v1/pms/sync/guests/", {"provider": "nope"}, format="json")
    assert answer.status_code == 400
    answer = client.post("/api/v1/pms/sync/guests/", {"provider": "ids_next"}, format="json")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_configured")


def test_a_webhook_booking_is_stored_answered_202_and_applied_by_a_task(
    hotel, mock, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_hook(APIClient(), booking(hotel), HTTP_X_CORRELATION_ID="corr-42")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["success"] is True and body["correlation_id"] == "corr-42"
    message = InboundMessage.objects.get(pk=body["inbound_message_id"])
    assert (message.correlation_id, message.status) == ("corr-42", "applied")
    reservation = message.reservation
    assert (reservation.source, reservation.external_id) == (Reservation.Source.PMS, "PMS-77")
    assert reservation.total_amount == 1_800_000
    log = PmsSyncLog.objects.get(pk=body["sync_log_id"])
    assert (log.operation, log.status, log.processed, log.correlation_id) == (
        "webhook",
        "completed",
        1,
        "corr-42",
    )
    # Cancelled by the PMS: freed here.
    with django_capture_on_commit_callbacks(execute=True):
        post_hook(APIClient(), booking(hotel, status="cancelled", updated="2026-12-01T11:00:00Z"))
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"token": "wrong"}, 401, "unauthorized"),
        ({"token": ""}, 401, "unauthorized"),
        ({"slug": "nowhere"}, 404, "hotel_not_found"),
        ({"slug": "PEMA"}, 404, "hotel_not_found"),
        ({"provider": "no_such_pms"}, 404, "unknown_provider"),
        ({"provider": "ids_next"}, 404, "not_configured"),
    ],
)
def test_a_refused_webhook_call_answers_the_api_error_shape(hotel, mock, kwargs, status, code):
    answer = post_hook(APIClient(), booking(hotel), **kwargs)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert not InboundMessage.objects.exists()


def test_a_malformed_booking_is_a_400(hotel, mock):
    body = booking(hotel)
    del body["booking"]["stay"]
    answer = post_hook(APIClient(), body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_booking")
    answer = APIClient().post(
        HOOK, data=b"{nope", content_type="application/json",
        HTTP_X_PROVIDER_TOKEN="mock-webhook-secret", HTTP_X_HOTEL_SLUG="pema",
    )  # fmt: skip
    assert answer.status_code == 400


def test_without_a_connection_secret_the_environment_tokens_are_used(
    hotel, mock, settings, monkeypatch
):
    mock.credentials = {}
    mock.save()
    settings.PMS_WEBHOOK_TOKEN = "shared-token"
    assert post_hook(APIClient(), booking(hotel), token="shared-token").status_code == 202
    monkeypatch.setenv("PMS_MOCK_TOKEN", "mock-only-token")
    assert (
        post_hook(APIClient(), booking(hotel, booking_id="B2"), token="shared-token").status_code
        == 401
    )
    answer = post_hook(APIClient(), booking(hotel, booking_id="B2"), token="mock-only-token")
    assert answer.status_code == 202
