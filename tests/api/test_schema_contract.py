"""What the OpenAPI schema promises: documented errors everywhere, the Idempotency-Key's
length, a bookable example, and the headers every answer carries."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from .test_bookings import body, book, stay  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operations(schema, prefix: str):
    for path, methods in schema["paths"].items():
        if path.startswith(prefix):
            for method, operation in methods.items():
                yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("prefix", ["/api/v1/backups/", "/api/v1/ids/", "/api/v1/connections/"])
def test_staff_endpoints_document_their_errors(schema, prefix):
    found = list(operations(schema, prefix))
    assert found
    for name, operation in found:
        statuses = set(operation["responses"])
        assert {"401", "403", "429"} <= statuses, name
        for status in statuses - {"200", "201", "202", "204"}:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"]["$ref"].endswith("/Error"), (name, status)
            assert content["examples"], (name, status)


def test_every_operation_documents_its_headers(schema):
    for name, operation in operations(schema, "/api/v1/"):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            assert headers["X-Request-ID"]["required"] is True, (name, status)
            if status.startswith("2"):
                assert {"RateLimit-Limit", "RateLimit-Remaining"} <= set(headers), name


def test_the_idempotency_key_is_8_to_255_characters(schema, client, body):  # noqa: F811
    operation = schema["paths"]["/api/v1/hotels/{hotel_code}/bookings/"]["post"]
    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["required"] is True
    assert (header["schema"]["minLength"], header["schema"]["maxLength"]) == (8, 255)
    short = book(client, body, key="1234567")
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "invalid_idempotency_key"
    assert book(client, body, key="x" * 256).status_code == 400
    assert book(client, body, key="12345678").status_code == 201


def test_the_booking_example_is_in_the_future(schema):
    operation = schema["paths"]["/api/v1/hotels/{hotel_code}/bookings/"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    (example,) = examples.values()
    check_in = date.fromisoformat(example["value"]["check_in"])
    check_out = date.fromisoformat(example["value"]["check_out"])
    assert date.today() < check_in < check_out


def test_backup_restore_documents_its_report(schema):
    restore = schema["paths"]["/api/v1/backups/{id}/restore/"]["post"]
    assert "requestBody" in restore and "409" in restore["responses"]
    report = restore["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "rows_written" in schema["components"]["schemas"][report.rsplit("/", 1)[1]]["properties"]


def test_a_uuid_is_a_good_idempotency_key(client, body):  # noqa: F811
    assert book(client, body, key=str(uuid.uuid4())).status_code == 201
