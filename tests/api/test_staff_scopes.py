"""Staff sessions pass an API scope only with the permissions it stands for."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from tests.factories import sellable_hotel

pytestmark = pytest.mark.django_db


def staff_client(group: str | None = None, *, superuser: bool = False) -> APIClient:
    if superuser:
        user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    else:
        user = User.objects.create_user("staff", password="pw-for-tests-1", is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def hotel():
    return sellable_hotel(code="SCP")


def availability(client, hotel):
    day = hotel.today() + timedelta(days=3)
    return client.get(
        f"/api/v1/hotels/{hotel.code}/availability/",
        {
            "check_in": day.isoformat(),
            "check_out": (day + timedelta(days=1)).isoformat(),
            "adults": 1,
        },
    )


def test_front_office_searches_but_cannot_restore_or_push_rates(hotel):
    client = staff_client("Front office")
    assert availability(client, hotel).status_code == 200
    assert client.get("/api/v1/backups/").status_code == 403
    assert client.post("/api/v1/backups/", {}, format="json").status_code == 403
    response = client.post("/api/v1/ids/update-rates/", {"hotel": hotel.code}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"]


def test_staff_without_any_group_gets_nothing(hotel):
    client = staff_client()
    assert availability(client, hotel).status_code == 403
    assert client.get("/api/v1/backups/").status_code == 403


@pytest.mark.parametrize("who", ["Administrator", "superuser"])
def test_administrators_and_superusers_pass(hotel, who):
    client = staff_client(superuser=True) if who == "superuser" else staff_client(who)
    assert availability(client, hotel).status_code == 200
    assert client.get("/api/v1/backups/").status_code == 200
