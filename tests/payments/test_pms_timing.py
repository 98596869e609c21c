"""The PMS gets a paid booking when it is confirmed, never while it awaits payment, and a
hold that ends unpaid is no news to it; channels see the held room gone at once."""

from __future__ import annotations

import pytest
from django.test import Client

from channels.dispatch import dispatch
from channels.models import SyncJob
from tests.ids_connection import make_connection

from .conftest import book, callback

pytestmark = pytest.mark.django_db


def jobs(conn) -> list[str]:
    return list(
        SyncJob.objects.filter(connection=conn, reservation__isnull=False)
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_the_pms_gets_the_booking_only_once_it_is_paid(api, hotel, payu):
    conn = make_connection(hotel, push_ari=False)
    body = book(api, hotel)
    dispatch(conn)
    assert jobs(conn) == []  # held, not yet the PMS's

    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    assert Client().post("/payments/payu/webhook/", callback(fields)).status_code == 200
    dispatch(conn)
    assert jobs(conn) == [SyncJob.Kind.RES_CREATE]


def test_an_unpaid_hold_that_fails_never_reaches_the_pms(api, hotel, payu):
    conn = make_connection(hotel, push_ari=False)
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("failure", "15000.00")
    Client().post("/payments/payu/webhook/", callback(fields, "failure"))
    dispatch(conn)
    assert jobs(conn) == []
