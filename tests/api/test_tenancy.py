"""Tenancy at the IDS endpoints: another hotel's code and an unknown one answer the same 404."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

IDS_ENDPOINTS = [
    ("test-connection", {}),
    ("sync-availability", {}),
    ("update-rates", {"start": "2030-01-01", "end": "2030-01-01", "price": 100}),
    ("update-availability", {"start": "2030-01-01", "end": "2030-01-01", "blocked": 0}),
    (
        "check-availability",
        {
            "room_type": "DBL",
            "rate_plan": "BAR",
            "check_in": "2030-01-01",
            "check_out": "2030-01-02",
        },
    ),
]


@pytest.mark.parametrize("name, fields", IDS_ENDPOINTS, ids=[n for n, _ in IDS_ENDPOINTS])
def test_ids_endpoints_do_not_tell_another_hotels_code_from_an_unknown_one(
    hotel, other_hotel, make_client, name, fields
):
    client = make_client([hotel], scopes=["ids:admin"])
    url = f"/api/v1/ids/{name}/"
    theirs = client.post(url, {"hotel": other_hotel.code, **fields}, format="json")
    unknown = client.post(url, {"hotel": "NOPE", **fields}, format="json")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "hotel_not_found"
    same_shape = theirs.json()["error"]["message"].replace(other_hotel.code, "NOPE")
    assert same_shape == unknown.json()["error"]["message"]
    assert theirs.json()["error"]["fields"] == unknown.json()["error"]["fields"]


def test_ids_input_errors_still_come_before_the_hotel(hotel, other_hotel, make_client):
    client = make_client([hotel], scopes=["ids:admin"])
    response = client.post(
        "/api/v1/ids/update-rates/", {"hotel": other_hotel.code, "price": -1}, format="json"
    )
    assert response.status_code == 400
    assert {"start", "end", "price"} <= set(response.json()["error"]["fields"])


def test_ids_endpoints_still_serve_the_keys_own_hotel(hotel, make_client):
    client = make_client([hotel], scopes=["ids:admin"])
    response = client.post("/api/v1/ids/test-connection/", {"hotel": hotel.code}, format="json")
    assert response.status_code == 404  # the hotel is known: it has no IDS connection
    assert response.json()["error"]["code"] == "not_configured"
