"""The backups admin pages and the staff API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from rest_framework.test import APIClient

from backups import service
from backups.models import SystemBackup
from bookings.models import Reservation

from .conftest import make_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db) -> User:
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename="view_systembackup"))
    return user


def grant(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def eager():
    from pema.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


# --- admin ---------------------------------------------------------------------------------


def test_changelist_lists_backups_with_back_up_now(client, staff):
    backup = service.create_backup(apps=["bookings"])
    client.force_login(grant(staff, "add_systembackup"))  # "Back up now" adds a backup
    response = client.get(reverse("admin:backups_systembackup_changelist"))
    assert response.status_code == 200
    assert backup.file_name in response.text
    assert "Back up now" in response.text


def test_back_up_now_queues_a_backup(client, staff, eager, django_capture_on_commit_callbacks):
    make_hotel()
    staff = grant(staff, "add_systembackup")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:backups_systembackup_backup_now"))
    assert response.status_code == 302
    backup = SystemBackup.objects.get()
    assert backup.created_by == staff
    assert backup.status == SystemBackup.Status.SUCCEEDED
    assert service.storage().exists(backup.file_name)


def test_download_needs_the_download_permission(client, staff):
    backup = service.create_backup(apps=["bookings"])
    url = reverse("admin:backups_systembackup_download", args=[backup.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403
    client.force_login(grant(staff, "download_systembackup"))
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == service.storage().open(backup.file_name).read()
    assert backup.file_name in response["Content-Disposition"]


def test_restore_page_shows_manifest_and_needs_confirmation(
    client, staff, eager, django_capture_on_commit_callbacks
):
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    url = reverse("admin:backups_systembackup_restore", args=[backup.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403
    client.force_login(grant(staff, "restore_systembackup"))
    page = client.get(url)
    assert page.status_code == 200
    assert backup.checksum in page.text
    assert "bookings.reservation" in page.text

    Reservation.objects.update(special_requests="changed")
    # Report only.
    page = client.post(url, {"mode": "replace", "validate_only": "1"})
    assert page.status_code == 200 and "would change" in page.text
    assert Reservation.objects.filter(special_requests="changed").count() == 3
    # Without the confirmation box nothing happens.
    page = client.post(url, {"mode": "replace"})
    assert Reservation.objects.filter(special_requests="changed").count() == 3
    # Confirmed: a worker restores (eager here), the changelist follows it to the end.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"mode": "replace", "confirm": "yes"})
    assert response.status_code == 302
    assert not Reservation.objects.filter(special_requests="changed").exists()
    page = client.get(response.url)
    assert page.status_code == 200
    assert 'data-status="done"' in page.text
    assert "rows written" in page.text


def test_back_up_now_shows_a_bar_that_only_its_starter_follows(
    client, staff, django_capture_on_commit_callbacks
):
    from pema import progress

    make_hotel()
    client.force_login(grant(staff, "add_systembackup"))
    response = client.post(reverse("admin:backups_systembackup_backup_now"))
    token = response.url.split("progress=")[1]
    page = client.get(response.url)
    assert 'data-status="queued"' in page.text and "waiting for a worker" in page.text
    status_url = reverse("pema_progress", args=[token])
    assert f'hx-get="{status_url}"' in page.text

    from backups.tasks import run_backup

    run_backup(SystemBackup.objects.get().pk, token)
    fragment = client.get(status_url)
    assert 'data-status="done"' in fragment.text and "hx-get" not in fragment.text
    assert progress.get(token).percent == 100

    other = User.objects.create_user("other", password="pw", is_staff=True)
    client.force_login(other)
    assert client.get(status_url).status_code == 404


def test_admin_delete_action_removes_files(client, staff, django_capture_on_commit_callbacks):
    backups = [service.create_backup(apps=["auth"]) for _ in range(2)]
    client.force_login(grant(staff, "delete_systembackup"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:backups_systembackup_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [b.pk for b in backups],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert not SystemBackup.objects.exists()
    assert service.storage().listdir("")[1] == []


# --- API ----------------------------------------------------------------------------------


@pytest.fixture
def api(staff) -> APIClient:
    client = APIClient()
    # The backups:admin scope stands for these permissions (pema.api.SCOPE_PERMISSIONS).
    client.force_authenticate(
        grant(staff, "add_systembackup", "delete_systembackup", "restore_systembackup")
    )
    return client


def test_api_refuses_staff_who_may_only_view_backups(staff):
    client = APIClient()
    client.force_authenticate(staff)
    assert client.get("/api/v1/backups/").status_code == 403


def test_api_refuses_anonymous_and_non_staff():
    client = APIClient()
    assert client.get("/api/v1/backups/").status_code in (401, 403)
    assert client.post("/api/v1/backups/", {}, format="json").status_code in (401, 403)
    client.force_authenticate(User.objects.create_user("guest"))
    response = client.get("/api/v1/backups/")
    assert response.status_code == 403
    assert "error" in response.json()


def test_api_create_queues_and_returns_202(api, eager, django_capture_on_commit_callbacks):
    make_hotel()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/backups/", {"apps": ["bookings"]}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    backup = SystemBackup.objects.get(pk=body["id"])
    assert backup.status == SystemBackup.Status.SUCCEEDED  # the eager worker ran it


def test_api_create_rejects_bad_apps(api):
    response = api.post("/api/v1/backups/", {"apps": ["nope"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_backup"


def test_api_list_and_retrieve(api):
    backup = service.create_backup(apps=["bookings"])
    listing = api.get("/api/v1/backups/").json()
    assert [item["id"] for item in listing] == [backup.pk]
    detail = api.get(f"/api/v1/backups/{backup.pk}/").json()
    assert detail["checksum"] == backup.checksum
    assert detail["counts"] == backup.counts
    assert api.get("/api/v1/backups/999999/").json()["error"]["code"] == "not_found"


def test_api_restore_validate_then_restore(api):
    make_hotel()
    backup = service.create_backup(apps=["bookings"])
    Reservation.objects.update(special_requests="changed")
    url = f"/api/v1/backups/{backup.pk}/restore/"
    response = api.post(url, {"mode": "replace", "validate_only": True}, format="json")
    assert response.status_code == 200
    assert response.json()["validate_only"] is True
    assert Reservation.objects.filter(special_requests="changed").count() == 3
    response = api.post(url, {"mode": "skip-existing"}, format="json")
    assert response.status_code == 200
    assert Reservation.objects.filter(special_requests="changed").count() == 3
    response = api.post(url, {"mode": "replace"}, format="json")
    assert response.status_code == 200
    assert response.json()["rows_written"] == backup.rows
    assert not Reservation.objects.filter(special_requests="changed").exists()


def test_api_restore_errors_are_json(api):
    backup = service.create_backup(apps=["bookings"])
    url = f"/api/v1/backups/{backup.pk}/restore/"
    response = api.post(url, {"mode": "sideways"}, format="json")
    assert response.status_code == 400
    assert "mode" in response.json()["error"]["fields"]
    service.storage().delete(backup.file_name)
    response = api.post(url, {"mode": "replace"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "restore_refused"


def test_api_delete_removes_record_and_file(api, django_capture_on_commit_callbacks):
    backup = service.create_backup(apps=["bookings"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/backups/{backup.pk}/")
    assert response.status_code == 204
    assert not SystemBackup.objects.exists()
    assert not service.storage().exists(backup.file_name)


def test_restore_of_a_missing_file_is_a_clear_command_error():
    from django.core.management import CommandError, call_command

    for name in ("/nonexistent.jsonl.gz", "no-such-backup.jsonl.gz"):
        with pytest.raises(CommandError, match="No backup file"):
            call_command("restore", name, "--yes")


def test_api_errors_have_the_api_shape(api):
    response = api.post("/api/v1/backups/", {"apps": "nope", "bogus": 1}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"} and isinstance(error["message"], str)
    assert api.get("/api/v1/backups/999999/").json()["error"]["code"]


def test_backup_now_with_the_broker_down_still_records_the_backup(api, monkeypatch):
    from backups.models import SystemBackup
    from backups.tasks import run_backup

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(run_backup, "apply_async", broker_down)
    response = api.post("/api/v1/backups/", {}, format="json")
    assert response.status_code == 202
    assert SystemBackup.objects.filter(pk=response.json()["id"]).exists()


def test_a_restore_invalidates_cached_availability():
    from bookings import availability_cache
    from tests.factories import sellable_hotel

    hotel = sellable_hotel(code="RST")
    backup = service.create_backup(apps=["bookings"])
    before = availability_cache.current_version(hotel.id)
    service.restore(backup, mode="skip-existing")
    assert availability_cache.current_version(hotel.id) != before


# --- API keys ----------------------------------------------------------------------------


def key_client(hotels, scopes=("backups:admin",)) -> APIClient:
    from bookings.api_keys import issue_key

    issued = issue_key(name="Ops", hotels=hotels, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    client.api_key = issued.api_key
    return client


def test_api_key_can_start_a_backup_and_is_recorded_as_its_maker(
    eager, django_capture_on_commit_callbacks
):
    hotel = make_hotel()
    client = key_client([hotel])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/backups/", {"apps": ["bookings"]}, format="json")
    assert response.status_code == 202, response.content
    backup = SystemBackup.objects.get(pk=response.json()["id"])
    assert backup.created_by is None
    assert backup.created_by_key == str(client.api_key)
    assert client.api_key.prefix in backup.created_by_key
    assert backup.status == SystemBackup.Status.SUCCEEDED
    listed = client.get(f"/api/v1/backups/{backup.pk}/").json()
    assert listed["created_by"] is None and listed["created_by_key"] == backup.created_by_key


def test_a_staff_backup_records_the_user_and_no_key(api, staff):
    response = api.post("/api/v1/backups/", {"apps": ["bookings"]}, format="json")
    assert response.status_code == 202
    backup = SystemBackup.objects.get(pk=response.json()["id"])
    assert backup.created_by == staff and backup.created_by_key == ""


def test_the_schema_documents_the_202_of_backup_create(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    responses = schema["paths"]["/api/v1/backups/"]["post"]["responses"]
    assert "202" in responses and "201" not in responses
    queued = responses["202"]["content"]["application/json"]["schema"]
    assert queued["$ref"].rsplit("/", 1)[1] in schema["components"]["schemas"]


def test_a_key_of_some_hotels_cannot_touch_whole_database_backups():
    one, other = make_hotel("ONE"), make_hotel("TWO", reservations=1)
    backup = service.create_backup(apps=["bookings"])
    narrow = key_client([one])
    for method, url, data in [
        ("get", "/api/v1/backups/", None),
        ("post", "/api/v1/backups/", {}),
        ("get", f"/api/v1/backups/{backup.pk}/", None),
        ("post", f"/api/v1/backups/{backup.pk}/restore/", {"validate_only": True}),
        ("delete", f"/api/v1/backups/{backup.pk}/", None),
    ]:
        response = getattr(narrow, method)(url, data, format="json")
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
    assert SystemBackup.objects.count() == 1
    wide = key_client([one, other])
    assert [b["id"] for b in wide.get("/api/v1/backups/").json()] == [backup.pk]
    restored = wide.post(
        f"/api/v1/backups/{backup.pk}/restore/", {"validate_only": True}, format="json"
    )
    assert restored.status_code == 200
    make_hotel("NEW", reservations=0)  # a hotel the key was not given
    assert wide.get("/api/v1/backups/").status_code == 403
