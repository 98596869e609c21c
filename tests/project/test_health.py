"""``/healthz/`` (liveness) and ``/readyz/`` (database, cache, broker, each connection's
last contact): JSON, 200 or 503, cheap, and what the compose file probes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client

from channels.models import SyncLog
from tests.factories import sellable_hotel
from tests.ids_connection import make_connection

from .test_broker_breaker import CountingListener, project_broker

ROOT = Path(settings.BASE_DIR)
DEAD_REDIS = {
    "default": {
        "BACKEND": "pema.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_liveness_asks_nothing():
    # No database mark: any query would fail this test.
    response = Client().get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readiness_reports_every_dependency_and_each_connections_last_contact():
    hotel = sellable_hotel(code="HLTH", rooms={"DBL": 1})
    quiet = make_connection(hotel, name="Never called")
    busy = make_connection(hotel, name="Called", enabled=False)
    SyncLog.objects.create(connection=busy, operation="ping", status="success", http_status=200)
    SyncLog.objects.create(connection=busy, operation="ping", status="error", http_status=503)

    response = Client().get("/readyz/")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "ready"
    assert {name: check["ok"] for name, check in data["checks"].items()} == {
        "database": True,
        "cache": True,
        "broker": True,
    }
    assert data["checks"]["broker"]["breaker"]["state"] == "closed"
    by_name = {row["name"]: row for row in data["connections"]}
    assert by_name[quiet.name]["last_contact_at"] is None
    called = by_name[busy.name]
    assert called["enabled"] is False and called["hotel"] == "HLTH"
    assert called["last_contact_status"] == "error" and called["last_contact_http_status"] == 503
    assert called["seconds_since_last_contact"] >= 0


@pytest.mark.django_db
def test_readiness_costs_the_same_few_queries_however_many_connections(
    django_assert_max_num_queries,
):
    hotel = sellable_hotel(code="MANY", rooms={"DBL": 1})
    for n in range(6):
        conn = make_connection(hotel, name=f"Partner {n}")
        SyncLog.objects.create(connection=conn, operation="ping", status="success")
    # SELECT 1, one for every connection, and one for every supplier (none here).
    with django_assert_max_num_queries(3):
        response = Client().get("/readyz/")
    assert response.status_code == 200 and len(response.json()["connections"]) == 6


@pytest.mark.django_db
def test_a_dead_cache_makes_it_unready(settings):
    settings.CACHES = DEAD_REDIS
    response = Client().get("/readyz/")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["cache"]["ok"] is False and data["checks"]["cache"]["error"]
    assert data["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_a_dead_broker_makes_it_unready():
    broker = CountingListener()
    try:
        with project_broker(broker.url):
            response = Client().get("/readyz/")
    finally:
        broker.close()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert broker.accepted >= 1  # it really asked


@pytest.mark.django_db
def test_probes_need_no_public_host_name_and_no_https(settings):
    """A probe inside the container asks 127.0.0.1 over HTTP, whatever the public host is."""
    settings.ALLOWED_HOSTS = ["pema.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client(HTTP_HOST="127.0.0.1:8000")
    assert client.get("/healthz/").status_code == 200
    assert client.get("/readyz/").status_code == 200
    assert client.get("/admin/login/").status_code == 400  # everything else is still checked


def test_probes_answer_get_and_head_only():
    response = Client().post("/healthz/")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_compose_web_healthcheck_probes_readiness_every_10_seconds():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    check = services["web"]["healthcheck"]
    assert check["interval"] == "10s"
    assert "/readyz/" in " ".join(check["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    # worker and beat wait for web, which migrates the database before it serves.
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


@pytest.mark.django_db(transaction=True)
def test_compose_web_healthcheck_command_passes_against_a_running_server(live_server):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    argv = compose["services"]["web"]["healthcheck"]["test"]
    assert argv[:3] == ["CMD", "python", "-c"]
    code = argv[3].replace("http://127.0.0.1:8000", live_server.url)
    assert code != argv[3], "the probe must ask the web container's own port 8000"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
