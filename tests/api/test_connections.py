"""The connections staff API, ``/api/v1/connections/`` (scope ``channels:admin``).

A battery runs every operation through what each must refuse: no credentials
(401), a key without the scope or staff without the permissions (403),
another hotel's connection (404, the same as one that does not exist), each
in the API's error shape. Then each action's own answers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses
from django.contrib.auth.models import Group, Permission, User
from rest_framework.test import APIClient

from bookings.ari import AriChanges, apply_ari_update
from channels.models import SyncJob, SyncLog
from pema import ota
from tests.channels.conftest import pull_ota  # noqa: F401 - fixture
from tests.channels.pull_provider import PullTestProvider
from tests.ids_connection import BASE_URL, make_connection

pytestmark = pytest.mark.django_db
SCOPE = ["channels:admin"]
URL = "/api/v1/connections/"
PING = f"{BASE_URL}/{ota.PING_RQ}"
# (method, path after /connections/{id}/, body): every operation on one connection.
ON_ONE = [
    ("get", "", None),
    ("post", "test/", None),
    ("post", "sync/", None),
    ("post", "full-sync/", None),
    ("post", "pull/", None),
    ("post", "reconcile/", {"dry_run": True}),
]
EVERY = [("get", None, None), *ON_ONE]
NAMES = ["list", *[f"{m} {p or 'detail'}" for m, p, _ in ON_ONE]]


@pytest.fixture
def conn(hotel):
    return make_connection(
        hotel,
        credentials={"api_key": "sekrit-key-123", "api_secret": "sekrit-secret-456"},
    )


@pytest.fixture
def theirs(other_hotel):
    return make_connection(other_hotel, name="Their IDS")


@pytest.fixture
def api(hotel, make_client):
    return make_client([hotel], scopes=SCOPE)


def call(client, method: str, conn_id, path: str | None, body=None):
    url = URL if path is None else f"{URL}{conn_id}/{path}"
    if method == "get":
        return client.get(url)
    return client.post(url, body, format="json")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"} and error["message"]
    if code:
        assert error["code"] == code
    return error


def staff(*, perms: tuple[str, ...] = (), group: str | None = None) -> APIClient:
    user = User.objects.create_user("ops", password="pw-for-tests-1", is_staff=True)
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.force_login(user)
    return client


# ------------------------------------------------------------------ the battery


@pytest.mark.parametrize("method, path, body", EVERY, ids=NAMES)
def test_without_credentials_it_is_a_401(conn, method, path, body):
    assert_error(call(APIClient(), method, conn.pk, path, body), 401)


@pytest.mark.parametrize("method, path, body", EVERY, ids=NAMES)
def test_a_key_without_the_scope_is_a_403(hotel, conn, make_client, method, path, body):
    client = make_client([hotel], scopes=["ids:admin", "bookings:write"])
    error = assert_error(call(client, method, conn.pk, path, body), 403, "permission_denied")
    assert "channels:admin" in error["message"]


@pytest.mark.parametrize("method, path, body", EVERY, ids=NAMES)
def test_staff_need_the_connection_permissions(conn, method, path, body):
    assert_error(call(staff(group="Revenue"), method, conn.pk, path, body), 403)
    assert_error(call(staff_with_view_only(), method, conn.pk, path, body), 403)


def staff_with_view_only() -> APIClient:
    User.objects.filter(username="ops").delete()
    return staff(perms=("channels.view_connection",))


@pytest.mark.parametrize("method, path, body", ON_ONE, ids=NAMES[1:])
def test_another_hotels_connection_is_the_same_404_as_none(api, theirs, method, path, body):
    before = SyncJob.objects.count(), SyncLog.objects.count()
    their = assert_error(call(api, method, theirs.pk, path, body), 404, "connection_not_found")
    none = assert_error(call(api, method, 99999, path, body), 404, "connection_not_found")
    assert their["message"].replace(str(theirs.pk), "N") == none["message"].replace("99999", "N")
    assert (SyncJob.objects.count(), SyncLog.objects.count()) == before  # nothing was done


@pytest.mark.parametrize("method, path, body", ON_ONE, ids=NAMES[1:])
def test_an_id_that_is_not_a_number_is_a_404(api, method, path, body):
    assert_error(call(api, method, "abc", path, body), 404, "not_found")
    assert_error(call(api, method, "9" * 30, path, body), 404)


def test_staff_with_the_permissions_and_superusers_pass(conn, theirs):
    perms = ("channels.view_connection", "channels.change_connection", "channels.change_syncjob")
    for client in (staff(perms=perms), staff_superuser(), staff_admin_group()):
        response = client.get(URL)
        assert response.status_code == 200
        assert {c["id"] for c in response.json()} == {conn.pk, theirs.pk}  # staff see every hotel


def staff_superuser() -> APIClient:
    client = APIClient()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-for-t-1"))
    return client


def staff_admin_group() -> APIClient:
    user = User.objects.create_user("boss", password="pw-for-tests-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Administrator"))
    client = APIClient()
    client.force_login(user)
    return client


# ------------------------------------------------------------------ list and detail


def test_the_list_shows_the_keys_hotels_with_their_health(api, conn, theirs):
    SyncJob.objects.create(connection=conn, stream="ari", kind="rates")
    dead = SyncJob.objects.create(connection=conn, stream="ari", kind="rates", status="dead")
    SyncJob.objects.filter(pk=dead.pk).update(dead_reason="expired")
    SyncLog.objects.create(
        connection=conn, operation=ota.PING_RQ, status="error", http_status=401, error="Refused."
    )
    response = api.get(URL)
    assert response.status_code == 200
    assert {"RateLimit-Limit", "X-Request-ID"} <= set(response.headers)
    (row,) = response.json()
    assert (row["id"], row["hotel"], row["provider"]) == (conn.pk, "APIH", "ids_next")
    assert row["reservations"] == "none" and row["takes_reservations"] is True
    health = row["health"]
    assert health["status"] == "unauthorised" and health["unauthorised"] is True
    assert (health["pending_jobs"], health["dead_jobs"]) == (1, 1)
    assert health["dead_jobs_by_reason"] == {"permanent": 0, "expired": 1, "interrupted": 0}
    assert health["last_error"]["message"] == "Refused."
    assert health["last_error"]["http_status"] == 401
    assert health["held_messages"] == 0 and health["unreachable"] is False


def test_the_list_filters(api, hotel, conn, pull_ota):  # noqa: F811
    def ids(**query) -> set[int]:
        response = api.get(URL, query)
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()}

    assert ids() == {conn.pk, pull_ota.pk}
    assert ids(provider="test_pull") == {pull_ota.pk}
    assert ids(hotel="APIH", enabled="true") == {conn.pk, pull_ota.pk}
    assert ids(enabled="false") == set()
    assert_error(api.get(URL, {"provider": "nope"}), 400, "invalid_field")
    assert_error(api.get(URL, {"hotel": ""}), 400)
    for value in ("null", "yes", "1"):
        assert_error(api.get(URL, {"enabled": value}), 400, "invalid_field")


def test_no_credential_is_ever_shown(api, conn):
    conn.base_url = "http://robot:pw-in-url@ids.test"
    conn.save()
    for response in (api.get(URL), api.get(f"{URL}{conn.pk}/")):
        assert response.status_code == 200
        text = response.content.decode()
        assert "sekrit" not in text and "pw-in-url" not in text and "credentials" not in text
    assert api.get(f"{URL}{conn.pk}/").json()["base_url"] == "http://ids.test"


def test_the_detail_adds_settings_and_products(api, conn):
    body = api.get(f"{URL}{conn.pk}/").json()
    assert body["settings"] == {"hotel_code": "PEMA001"} and body["products"] == 0
    assert body["health"]["status"] == "ok"


# ------------------------------------------------------------------ actions


@responses.activate
def test_test_answers_the_probes_outcome(api, conn):
    echo = ota.OTAResponse(success=True, data=f"pema-ping-{conn.pk}")
    responses.post(PING, body=ota.build_ping_rs(echo))
    response = api.post(f"{URL}{conn.pk}/test/")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "message": "IDS Next answered the ping.",
        "http_status": None,
        "unauthorised": False,
    }
    responses.replace(responses.POST, PING, body=requests.ConnectionError("refused"))
    failed = api.post(f"{URL}{conn.pk}/test/").json()
    assert failed["ok"] is False and "Could not connect" in failed["message"]
    responses.replace(responses.POST, PING, status=403)
    refused = api.post(f"{URL}{conn.pk}/test/").json()
    assert refused["unauthorised"] is True and refused["http_status"] == 403
    assert "sekrit" not in str(refused)


def test_sync_queues_and_answers_202(api, hotel, conn):
    day = hotel.today() + timedelta(days=2)
    apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=99_900), source="test")
    response = api.post(f"{URL}{conn.pk}/sync/")
    assert response.status_code == 202
    body = response.json()
    assert (body["connection"], body["events"], body["jobs"], body["full_sync_jobs"]) == (
        conn.pk,
        1,
        1,
        0,
    )
    assert body["pending_jobs"] == 1 and isinstance(body["delivery_queued"], bool)


def test_full_sync_queues_the_calendar_and_answers_202(api, conn):
    response = api.post(f"{URL}{conn.pk}/full-sync/")
    assert response.status_code == 202
    assert response.json()["full_sync_jobs"] >= 2
    assert response.json()["pending_jobs"] == SyncJob.objects.filter(connection=conn).count()


def test_actions_that_do_not_apply_are_409s(api, conn):
    error = assert_error(api.post(f"{URL}{conn.pk}/pull/"), 409, "not_supported")
    assert "pulls no reservations" in error["message"]
    conn.push_ari = False
    conn.save()
    assert_error(api.post(f"{URL}{conn.pk}/full-sync/"), 409, "not_supported")
    conn.enabled = False
    conn.save()
    for action in ("sync/", "pull/", "reconcile/"):
        assert_error(api.post(f"{URL}{conn.pk}/{action}"), 409, "connection_disabled")


def test_pull_answers_what_was_read_and_502_when_the_partner_cannot_be(api, pull_ota):  # noqa: F811
    response = api.post(f"{URL}{pull_ota.pk}/pull/")
    assert response.status_code == 200
    assert response.json() == {
        "pulls": 1,
        "received": 0,
        "applied": 0,
        "held": 0,
        "acknowledged": 0,
        "rejected": 0,
        "ack_failed": 0,
    }
    PullTestProvider.FAIL = "Could not connect: refused"
    assert_error(api.post(f"{URL}{pull_ota.pk}/pull/"), 502, "partner_error")


def test_reconcile_queues_and_answers_202_or_200_for_a_dry_run(api, hotel, conn):
    from bookings.reservations import GuestDetails, reserve_stay

    start = hotel.today() + timedelta(days=3)
    res = reserve_stay(
        hotel=hotel,
        room_type=hotel.room_types.get(code="DBL"),
        rate_plan=hotel.rate_plans.get(code="BAR"),
        check_in=start,
        check_out=start + timedelta(days=1),
        adults=1,
        guest=GuestDetails("Asha", "Rao", "asha@example.com"),
        source="booking_engine",
    )
    dry = api.post(f"{URL}{conn.pk}/reconcile/", {"dry_run": True}, format="json")
    assert dry.status_code == 200
    found = [
        {"confirmation_number": res.confirmation_number, "why": "no partner reference and no job"}
    ]
    assert dry.json()["found"] == found and dry.json()["queued"] == 0
    done = api.post(f"{URL}{conn.pk}/reconcile/")
    assert done.status_code == 202 and done.json()["queued"] == 1
    assert SyncJob.objects.filter(reservation=res, kind="res_create").exists()


@pytest.mark.parametrize(
    "body, code",
    [
        ({"dry_run": "yes"}, "invalid_field"),
        ({"dry_run": 1}, "invalid_field"),
        ({"x": 1}, "unknown_field"),
    ],
)
def test_reconcile_input_errors_are_400s(api, conn, body, code):
    error = assert_error(api.post(f"{URL}{conn.pk}/reconcile/", body, format="json"), 400, code)
    assert error["fields"]


def test_reconcile_of_a_pull_connection_queues_a_pull(api, pull_ota):  # noqa: F811
    response = api.post(f"{URL}{pull_ota.pk}/reconcile/")
    assert response.status_code == 202
    assert response.json()["found"] == [] and isinstance(response.json()["pull_queued"], bool)


def test_a_connection_whose_provider_is_gone_is_listed_and_refused(api, hotel):
    gone = make_connection(hotel, provider="retired_partner", name="Retired")
    (row,) = api.get(URL).json()
    assert (row["provider_label"], row["reservations"]) == ("retired_partner", "none")
    assert_error(api.post(f"{URL}{gone.pk}/sync/"), 409, "not_supported")
    assert api.post(f"{URL}{gone.pk}/test/").json()["ok"] is False
