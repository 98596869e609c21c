"""Rate limits: a sliding window per key (no doubling at a window's edge), the RateLimit
headers, and throttled failed authentication per client address with a bounded audit."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from bookings.api import throttling
from bookings.models import ApiAuditLog

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
BACKENDS = [
    pytest.param(None, id="configured-cache"),  # Redis when the run has one, else the file cache
    pytest.param(LOCMEM, id="portable-path"),
]


class FakeClock:
    """Stands in for the ``time`` module the throttle reads the time from."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # 59 s into a minute: the last second of a fixed one-minute window.
    fake = FakeClock(60 * 29_000_000 + 59.0)
    monkeypatch.setattr(throttling, "time", fake)
    return fake


def with_rates(**rates):
    merged = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}
    )


def statuses(client, n: int, path: str = "/api/v1/hotels/APIH/") -> list[int]:
    return [client.get(path).status_code for _ in range(n)]


@pytest.mark.parametrize("caches", BACKENDS)
def test_no_window_edge_lets_twice_the_rate_through(client, hotel, clock, caches):
    with with_rates(api_key="10/min"), override_settings(**({"CACHES": caches} if caches else {})):
        assert statuses(client, 10) == [200] * 10
        clock.now += 2  # a fixed window would start counting afresh here
        assert statuses(client, 10) == [429] * 10
        refused = client.get("/api/v1/hotels/APIH/")
        # The first ten leave the window 60 s after they came: 58 s from now.
        assert 58 <= int(refused["Retry-After"]) <= 59
        clock.now += 57.5
        assert statuses(client, 1) == [429]
        clock.now += 1  # now 60.5 s after the first ten
        assert statuses(client, 10) == [200] * 10
        assert statuses(client, 1) == [429]


@pytest.mark.parametrize("caches", BACKENDS)
def test_the_window_slides_request_by_request(client, hotel, clock, caches):
    with with_rates(api_key="4/min"), override_settings(**({"CACHES": caches} if caches else {})):
        for _ in range(4):  # at 0, 15, 30 and 45 s
            assert statuses(client, 1) == [200]
            clock.now += 15
        clock.now -= 5  # 55 s: all four are within the last minute
        assert statuses(client, 1) == [429]
        clock.now += 5.5  # 60.5 s: the first has left the window, the other three not
        assert statuses(client, 2) == [200, 429]


def test_successful_answers_carry_the_rate_limit_headers(client, hotel, clock):
    with with_rates(api_key="5/min"):
        answers = [client.get("/api/v1/hotels/APIH/") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert {a["RateLimit-Limit"] for a in answers} == {"5"}
    assert [a["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]


def test_rate_limit_headers_on_writes_too(client, hotel):
    answer = client.post("/api/v1/auth/validate/")
    assert answer.status_code == 200
    limit, _ = throttling.parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"])
    assert answer["RateLimit-Limit"] == str(limit)
    assert 0 <= int(answer["RateLimit-Remaining"]) < limit


def test_without_redis_nothing_is_counted_and_no_header_claims_otherwise(client, hotel):
    from .test_redis_down import DEAD_REDIS

    with override_settings(CACHES=DEAD_REDIS), with_rates(api_key="2/min"):
        answers = [client.get("/api/v1/hotels/APIH/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert not any("RateLimit-Remaining" in a for a in answers)


# --- failed authentication -----------------------------------------------------------------


def bad_key(client: APIClient, n: int, path: str = "/api/v1/hotels/APIH/", **extra) -> list[int]:
    client.credentials(HTTP_AUTHORIZATION="Bearer pema_deadbeef_not-a-real-secret")
    return [client.post(path, {}, format="json", **extra).status_code for _ in range(n)]


@pytest.mark.parametrize("caches", BACKENDS)
def test_failed_authentication_is_throttled_per_address_with_a_bounded_audit(
    hotel, make_client, clock, caches
):
    good = make_client([hotel])
    attacker = APIClient()
    with (
        with_rates(auth_failure="5/min"),
        override_settings(**({"CACHES": caches} if caches else {})),
    ):
        assert bad_key(attacker, 5) == [401] * 5
        refused = attacker.post("/api/v1/hotels/APIH/", {}, format="json")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 59 <= int(refused["Retry-After"]) <= 60
        assert bad_key(attacker, 200) == [429] * 200
        # Only the failures within the budget were written to the audit log.
        assert ApiAuditLog.objects.filter(status_code=401).count() == 5
        assert not ApiAuditLog.objects.filter(status_code=429).exists()
        # Every request from that address waits, even one with a good key...
        assert good.get("/api/v1/hotels/APIH/").status_code == 429
        # ...while another address is not affected.
        assert good.get("/api/v1/hotels/APIH/", REMOTE_ADDR="10.1.2.3").status_code == 200
        clock.now += 60.5
        assert good.get("/api/v1/hotels/APIH/").status_code == 200
        assert bad_key(attacker, 1) == [401]


def test_missing_credentials_count_as_failed_authentication(hotel, clock):
    anonymous = APIClient()
    with with_rates(auth_failure="3/min"):
        codes = [anonymous.get("/api/v1/bookings/").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert ApiAuditLog.objects.filter(status_code=401).count() == 3


def test_an_ipv6_client_is_counted_by_its_64(hotel, clock):
    attacker = APIClient()
    with with_rates(auth_failure="2/min"):
        spread = [f"2001:db8:1:2::{n:x}" for n in range(1, 5)]
        codes = [bad_key(attacker, 1, REMOTE_ADDR=address)[0] for address in spread]
        assert codes == [401, 401, 429, 429]
        assert bad_key(attacker, 1, REMOTE_ADDR="2001:db8:1:3::1") == [401]


def test_a_failure_seen_by_another_process_blocks_here_after_one_more(hotel, clock):
    """Processes share the count in the cache; each remembers blocked addresses itself."""
    from bookings.api import auth_failures

    attacker = APIClient()
    with with_rates(auth_failure="3/min"):
        assert bad_key(attacker, 4) == [401, 401, 401, 429]
        auth_failures._blocked.clear()  # what a second process knows: nothing yet
        assert bad_key(attacker, 2) == [429, 429]


def test_forwarded_for_is_ignored_unless_proxies_are_configured(hotel, clock):
    attacker = APIClient()
    with with_rates(auth_failure="2/min"):
        forged = [bad_key(attacker, 1, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")[0] for n in range(4)]
        assert forged == [401, 401, 429, 429]
    with (
        with_rates(auth_failure="2/min"),
        override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}),
    ):
        behind_proxy = [
            bad_key(attacker, 1, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")[0]
            for n in range(3)
        ]
        assert behind_proxy == [401, 401, 401]
    entry = ApiAuditLog.objects.filter(status_code=401).latest("id")
    assert entry.client_ip == "203.0.113.2"
