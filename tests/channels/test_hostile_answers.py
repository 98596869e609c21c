"""Answers in UTF-16, with NUL bytes, or whose log row cannot be written: the outcome stands."""

import responses
from django.db import connection as db

from channels.delivery import deliver
from channels.dispatch import dispatch
from channels.models import SyncJob, SyncLog
from pema import ota

from .conftest import BASE_URL
from .ota_responses import res_ok
from .test_dispatch import book

RES = f"{BASE_URL}/{ota.RES_NOTIF_RQ}"
PING = f"{BASE_URL}/{ota.PING_RQ}"


def utf16(answer: bytes) -> bytes:
    """The same answer as a partner that speaks UTF-16 sends it (mark and declaration)."""
    return answer.decode("utf-8").replace("'UTF-8'", "'UTF-16'").encode("utf-16")


def deliver_one_booking(hotel, conn, answer: bytes):
    res = book(hotel)
    dispatch(conn)
    responses.post(RES, body=answer)
    deliver(conn.pk)
    res.refresh_from_db()
    return res, SyncJob.objects.get(reservation=res)


@responses.activate
def test_a_utf16_answer_is_read_and_logged(hotel, conn):
    res, job = deliver_one_booking(hotel, conn, utf16(res_ok("IDS-16")))
    assert (job.status, job.attempts, res.pms_reference) == ("done", 1, "IDS-16")
    assert len(responses.calls) == 1
    log = SyncLog.objects.get(job=job)
    assert log.status == "success"
    assert "IDS-16" in log.response and log.response.startswith("<?xml")


@responses.activate
def test_a_nul_padded_answer_is_read_and_logged_without_the_nul(hotel, conn):
    res, job = deliver_one_booking(hotel, conn, res_ok("IDS-0") + b"\x00")
    assert (job.status, res.pms_reference) == ("done", "IDS-0")
    log = SyncLog.objects.get(job=job)
    assert "\x00" not in log.response and log.response.endswith("\\x00")


@responses.activate
def test_a_nul_inside_an_answer_is_logged_escaped(hotel, conn):
    answer = res_ok("IDS-1").replace(b"<Success/>", b"<Success/>\x00")
    _, job = deliver_one_booking(hotel, conn, answer)
    log = SyncLog.objects.get(job=job)
    assert log.status == "error" and "\\x00" in log.response
    assert "\x00" not in log.response + log.error


@responses.activate
def test_a_log_row_that_cannot_be_written_does_not_undo_a_delivery(hotel, conn, monkeypatch):
    def broken_save(self, *args, **kwargs):
        # A real database error, which on PostgreSQL also aborts the open transaction.
        with db.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(SyncLog, "save", broken_save)
    res, job = deliver_one_booking(hotel, conn, res_ok("IDS-7"))
    assert (job.status, job.attempts, res.pms_reference) == ("done", 1, "IDS-7")
    assert len(responses.calls) == 1


@responses.activate
def test_test_connection_reads_a_utf16_pong(admin_client, conn):
    pong = ota.build_ping_rs(ota.OTAResponse(success=True, data=f"pema-ping-{conn.pk}"))
    responses.post(PING, body=utf16(pong))
    response = admin_client.post(
        "/api/v1/ids/test-connection/", {"hotel": "IDS"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    assert SyncLog.objects.get(operation=ota.PING_RQ).status == "success"


@responses.activate
def test_a_partner_echoing_the_credentials_leaves_no_secret_in_the_sync_log(hotel, conn):
    secret = "s3cr3t-signing-key"
    conn.credentials = {**conn.credentials, "api_secret": secret}
    conn.save()
    echo = res_ok("IDS-9").replace(b"<Success/>", f"<Success/><!-- {secret} -->".encode())
    _, job = deliver_one_booking(hotel, conn, echo)
    log = SyncLog.objects.get(job=job)
    assert log.status == "success"
    assert secret not in log.request + log.response + log.error
    assert "[redacted]" in log.response
