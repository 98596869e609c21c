"""Payments in the admin: the reservation's payments, the refund with its permission, and
the gateway's key and salt write-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from payments.models import GatewayConfig, Payment

from .conftest import KEY, SALT, book, callback

pytestmark = pytest.mark.django_db


def staff(*perms: str) -> Client:
    name = f"staff{len(perms)}"
    user = get_user_model().objects.create_user(name, password="x", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def paid(api, hotel, payu) -> Payment:
    fields = book(api, hotel)["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    Client().post("/payments/payu/webhook/", callback(fields))
    return Payment.objects.get()


def test_the_refund_page_needs_the_permission_and_caps_the_amount(
    api, hotel, payu, django_capture_on_commit_callbacks
):
    payment = paid(api, hotel, payu)
    url = f"/admin/payments/payment/{payment.pk}/refund/"
    assert staff("payments.view_payment").get(url).status_code == 403

    client = staff("payments.view_payment", "payments.refund_payment")
    page = client.post(url, {"amount": "15000.01"})
    assert "At most 15,000.00 INR can be refunded." in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"amount": "2000.00", "reason": "goodwill"})
    assert done.status_code == 302
    payment.refresh_from_db()
    assert payment.status == "partly_refunded" and payment.refunded_amount == 200_000


def test_the_reservation_page_lists_its_payments(api, hotel, payu):
    payment = paid(api, hotel, payu)
    user = get_user_model().objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/bookings/reservation/{payment.reservation_id}/change/")
    assert payment.txnid in page.content.decode()


def test_the_gateway_secrets_are_write_only(hotel):
    user = get_user_model().objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(user)
    config = GatewayConfig.objects.get(hotel=hotel)
    page = client.get(f"/admin/payments/gatewayconfig/{config.pk}/change/").content.decode()
    assert SALT not in page and KEY not in page
    answer = client.post(
        f"/admin/payments/gatewayconfig/{config.pk}/change/",
        {"hotel": hotel.pk, "gateway": "payu", "mode": "test", "base_url": "", "is_active": "on",
         "key": "", "salt": ""},
    )  # fmt: skip
    assert answer.status_code == 302
    config.refresh_from_db()
    assert config.credentials == {"key": KEY, "salt": SALT}  # empty fields keep them
