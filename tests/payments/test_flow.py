"""The payment flow through the API and PayU's callbacks, PayU's command API faked with
``responses`` (tests/payments/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bookings.models import ChangeEvent, InventoryDay, Reservation
from payments import flow
from payments.models import Payment, PaymentEvent, Refund

from .conftest import book, callback

pytestmark = pytest.mark.django_db


def free(hotel, code: str = "DBL", days: int = 10) -> int:
    day = hotel.today() + timedelta(days=days)
    row = InventoryDay.objects.get(room_type__hotel=hotel, room_type__code=code, date=day)
    return row.available


def post_return(form: dict):
    return Client().post("/payments/payu/return/", form)


def post_webhook(form: dict):
    return Client().post("/payments/payu/webhook/", form)


def test_a_payu_booking_is_pending_holds_its_room_and_answers_the_payment_form(api, hotel):
    before = free(hotel)
    body = book(api, hotel)

    assert body["status"] == "pending_payment"
    assert body["hold_expires_at"]
    assert free(hotel) == before - 1  # held exactly like a confirmed booking
    payment = body["payment"]
    assert payment["action"] == "https://payu.test/_payment"
    fields = payment["fields"]
    assert fields["amount"] == "15000.00"  # 2 nights x 7,500.00, exactly
    assert len(fields["txnid"]) <= 25
    assert fields["surl"].endswith("/payments/payu/return/") and fields["furl"] == fields["surl"]
    assert payment["start_url"].endswith(f"/payments/{payment['id']}/start/")
    assert payment["webhook_url"].endswith("/payments/payu/webhook/")
    start = Client().get(f"/payments/{payment['id']}/start/")
    assert start.status_code == 200
    assert f'value="{fields["hash"]}"' in start.content.decode()


def test_a_non_refundable_plan_needs_payment_without_asking(api, hotel):
    assert book(api, hotel, plan="NRF", payment=None)["status"] == "pending_payment"
    assert book(api, hotel, plan="BAR", room="TWN", payment=None)["status"] == "confirmed"


def test_payment_at_a_hotel_without_a_gateway_is_a_400(api, hotel):
    hotel.payment_gateway.delete()
    body = book(api, hotel, status=400)
    assert body["error"]["code"] == "payment_unavailable"


def test_success_confirms_once_whichever_callback_comes_first(api, hotel, payu):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    form = callback(fields)

    webhook = post_webhook(form)
    assert webhook.status_code == 200
    answer = post_return(form)
    assert answer.status_code == 302
    page = Client().get(answer["Location"])
    assert "Booking confirmed" in page.content.decode()
    assert post_webhook(form).status_code == 200  # a duplicate: changes nothing

    reservation = Reservation.objects.get(confirmation_number=body["confirmation_number"])
    assert reservation.status == "confirmed"
    payment = Payment.objects.get()
    assert payment.status == "succeeded" and payment.mihpayid == "403993715521889530"
    confirmations = ChangeEvent.objects.filter(
        reservation=reservation, kind=ChangeEvent.Kind.RESERVATION_MODIFIED
    )
    assert confirmations.count() == 1
    outcomes = list(PaymentEvent.objects.filter(kind__in=["return", "webhook"])
                    .order_by("id").values_list("outcome", flat=True))  # fmt: skip
    assert outcomes[0].startswith("confirmed") and all(
        o.startswith("duplicate") for o in outcomes[1:]
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"hash": "0" * 128}, "hash"),
        ({"txnid": "PMunknown"}, "unknown txnid"),
        ({"amount": "1.00"}, "amount"),
    ],
)
def test_a_bad_callback_is_a_400_stored_and_changes_nothing(api, hotel, payu, change, why):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    form = callback(fields)
    if "hash" in change:
        form.update(change)
    else:
        form = callback({**fields, **change})

    assert post_webhook(form).status_code == 400
    assert post_return(form).status_code == 400
    assert Reservation.objects.get().status == "pending_payment"
    assert Payment.objects.get().status == "initiated"
    stored = PaymentEvent.objects.filter(kind__in=["return", "webhook"])
    assert stored.count() == 2 and all(why in e.outcome for e in stored)
    assert not payu.calls  # nothing unverified was even looked up


def test_a_callback_signed_with_another_salt_is_refused(api, hotel, payu):
    fields = book(api, hotel)["payment"]["fields"]
    assert post_webhook(callback(fields, salt="guessed")).status_code == 400
    assert PaymentEvent.objects.get().hash_verified is False


def test_a_success_callback_payu_does_not_confirm_is_not_trusted(api, hotel, payu):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("failure", "15000.00")
    post_return(callback(fields))
    assert Reservation.objects.get().status == "cancelled"
    assert "PayU's record says failure" in Payment.objects.get().attention


def test_failure_cancels_and_frees_the_room(api, hotel, payu):
    before = free(hotel)
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("failure", "15000.00")
    answer = post_return(callback(fields, "failure", unmappedstatus="userCancelled"))
    assert "Payment failed" in Client().get(answer["Location"]).content.decode()
    assert Reservation.objects.get().status == "cancelled"
    assert free(hotel) == before
    assert Payment.objects.get().status == "failed"


def test_payu_down_during_verify_keeps_it_pending_until_reconciled(api, hotel, payu):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    payu.down = True
    answer = post_return(callback(fields))
    assert "Payment being confirmed" in Client().get(answer["Location"]).content.decode()
    assert Payment.objects.get().status == "pending"
    assert Reservation.objects.get().status == "pending_payment"

    payu.down = False
    flow.reconcile(older_than=timedelta(0))
    assert Reservation.objects.get().status == "confirmed"


def test_the_hold_expires_and_frees_the_room(api, hotel, payu):
    before = free(hotel)
    book(api, hotel)
    flow.expire_holds(now=timezone.now() + timedelta(minutes=16))
    assert Reservation.objects.get().status == "cancelled"
    assert Payment.objects.get().failure_reason == flow.EXPIRED
    assert free(hotel) == before


def test_a_late_success_is_confirmed_when_the_room_is_still_free(api, hotel, payu):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    flow.expire_holds(now=timezone.now() + timedelta(minutes=16))
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    post_webhook(callback(fields))
    assert Reservation.objects.get().status == "confirmed"
    assert free(hotel) == 0


def test_a_late_success_with_the_room_gone_is_refunded(
    api, hotel, payu, django_capture_on_commit_callbacks
):
    body = book(api, hotel)
    fields = body["payment"]["fields"]
    flow.expire_holds(now=timezone.now() + timedelta(minutes=16))
    book(api, hotel, payment=None)  # someone else takes the only DBL
    payu.txns[fields["txnid"]] = ("success", "15000.00")
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_return(callback(fields))
    assert "refunded in full" in Client().get(answer["Location"]).content.decode()
    late = Reservation.objects.get(confirmation_number=body["confirmation_number"])
    assert late.status == "cancelled"
    payment = Payment.objects.get()
    assert payment.status == "refunded" and payment.refunded_amount == 1_500_000
    assert "room was gone" in payment.attention
    refund = Refund.objects.get()
    assert refund.status == "settled" and refund.token.startswith("RF")


def _paid(api, hotel, payu, **kwargs) -> dict:
    body = book(api, hotel, **kwargs)
    fields = body["payment"]["fields"]
    payu.txns[fields["txnid"]] = ("success", fields["amount"])
    assert post_webhook(callback(fields)).status_code == 200
    return body


def test_cancelling_in_the_free_period_refunds_everything(
    api, hotel, payu, django_capture_on_commit_callbacks
):
    body = _paid(api, hotel, payu, days=10)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/api/v1/bookings/{body['confirmation_number']}/cancel/", {},
                          format="json")  # fmt: skip
    data = answer.json()
    assert data["cancellation_fee"] == 0
    assert data["refund"]["amount"] == 1_500_000
    assert payu.refunds["R1"]["amt"] == "15000.00"
    assert Payment.objects.get().status == "refunded"


def test_cancelling_after_the_free_period_keeps_the_first_night(
    api, hotel, payu, django_capture_on_commit_callbacks
):
    body = _paid(api, hotel, payu, days=0)  # arrives today: past the 1-day free period
    with django_capture_on_commit_callbacks(execute=True):
        data = api.post(f"/api/v1/bookings/{body['confirmation_number']}/cancel/", {},
                        format="json").json()  # fmt: skip
    assert data["cancellation_fee"] == 750_000
    assert data["refund"]["amount"] == 750_000
    assert data["booking"]["cancellation_fee"] == 750_000
    assert Payment.objects.get().status == "partly_refunded"


def test_cancelling_a_non_refundable_booking_refunds_nothing(api, hotel, payu):
    body = _paid(api, hotel, payu, plan="NRF", payment=None)
    data = api.post(f"/api/v1/bookings/{body['confirmation_number']}/cancel/", {},
                    format="json").json()  # fmt: skip
    assert data["cancellation_fee"] == 1_400_000
    assert data["refund"]["amount"] == 0
    assert not Refund.objects.exists()


def test_a_percentage_fee(api, hotel, payu, django_capture_on_commit_callbacks):
    hotel.rate_plans.filter(code="BAR").update(cancellation_fee_type="percent",
                                               cancellation_fee_value=25)  # fmt: skip
    body = _paid(api, hotel, payu, days=0)
    with django_capture_on_commit_callbacks(execute=True):
        data = api.post(f"/api/v1/bookings/{body['confirmation_number']}/cancel/", {},
                        format="json").json()  # fmt: skip
    assert data["cancellation_fee"] == 375_000
    assert data["refund"]["amount"] == 1_125_000


def test_staff_refund_up_to_what_was_paid(api, hotel, payu, django_capture_on_commit_callbacks):
    _paid(api, hotel, payu)
    payment = Payment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        flow.request_refund(payment, 500_000, reason="goodwill", by="manager")
    with pytest.raises(flow.RefundError):
        flow.request_refund(payment, 1_000_001, reason="too much")
    payment.refresh_from_db()
    assert payment.status == "partly_refunded" and payment.refundable == 1_000_000


def test_the_booking_engine_cannot_move_a_non_refundable_booking(api, hotel, payu):
    body = _paid(api, hotel, payu, plan="NRF", payment=None)
    moved = (hotel.today() + timedelta(days=12)).isoformat()
    answer = api.patch(f"/api/v1/bookings/{body['confirmation_number']}/",
                       {"check_in": moved}, format="json")  # fmt: skip
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_modifiable"


def test_the_booking_payload_carries_its_cancellation_policy(api, hotel):
    body = book(api, hotel, payment=None)
    policy = body["cancellation_policy"]
    assert policy["refundable"] is True and policy["fee_type"] == "nights"
    assert policy["free_cancellation_until"] == (hotel.today() + timedelta(days=9)).isoformat()
    assert body["cancellation_fee"] is None


def test_the_dashboard_lists_unpaid_holds_and_disagreements(api, hotel, admin_user):
    from bookings import dashboard

    body = book(api, hotel)
    Reservation.objects.filter(confirmation_number=body["confirmation_number"]).update(
        hold_expires_at=timezone.now() + timedelta(minutes=2)
    )
    Payment.objects.filter(reservation__confirmation_number=body["confirmation_number"]).update(
        attention="PayU says captured; Pema has it pending."
    )

    items = {a.label: a for a in dashboard.needs_a_person(hotel, admin_user)}

    assert items["Unpaid payment holds (1 expiring within 5 min)"].count == 1
    assert items["Payments where the gateway and Pema disagree"].count == 1
