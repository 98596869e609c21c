"""The in-call 429 schedule of the shared transport: 1, 2, 4 s, Retry-After, capped."""

from __future__ import annotations

import pytest
import responses
from django.test import override_settings

from pema import http

URL = "https://pms.example/api"


@responses.activate
def test_a_429_is_retried_after_one_two_and_four_seconds_then_returned(fake_http_clock):
    for _ in range(5):
        responses.get(URL, status=429)
    answer = http.get(URL)
    assert answer.status == 429
    assert fake_http_clock.waits == [1.0, 2.0, 4.0]
    assert len(responses.calls) == 4  # the first try and three retries


@responses.activate
def test_the_retry_after_header_is_honoured_and_capped_at_30_seconds(fake_http_clock):
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, status=429, headers={"Retry-After": "120"})
    responses.get(URL, status=200, body=b"ok")
    answer = http.get(URL)
    assert (answer.status, answer.body) == (200, b"ok")
    assert fake_http_clock.waits == [7.0, 30.0]


@responses.activate
def test_a_success_after_a_429_ends_the_waiting(fake_http_clock):
    responses.post(URL, status=429)
    responses.post(URL, status=201, body=b"made")
    assert http.post(URL, b"x").status == 201
    assert fake_http_clock.waits == [1.0]


@responses.activate
def test_callers_may_opt_out_and_the_setting_bounds_the_retries(fake_http_clock):
    responses.get(URL, status=429)
    assert http.request("GET", URL, retry_429=False).status == 429
    assert fake_http_clock.waits == []
    with override_settings(PEMA_HTTP_429_RETRIES=1):
        assert http.get(URL).status == 429
    assert fake_http_clock.waits == [1.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("-5", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_reads_seconds(header, expected):
    assert http.retry_after(header) == expected


def test_retry_after_reads_an_http_date():
    assert http.retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
