"""The payment flow: pay to confirm, settle once, release on failure or expiry, refund.

- :func:`start_payment` opens a payment for a booking awaiting it (inside the
  booking's transaction), :func:`checkout_form` gives the gateway's form.
- :func:`handle_callback` takes what the gateway posts (the guest's browser
  return or the server-to-server webhook). It stores it raw first, checks the
  reverse hash, the ``txnid`` and the amount to the paisa, and then asks the
  gateway itself (``verify_payment``) before trusting it. Whichever of return
  and webhook comes first settles the payment; the second changes nothing.
- :func:`settle` applies the gateway's verified word, under a lock on the
  payment row: success confirms the reservation (or, after its hold expired,
  books its rooms again, or refunds in full when they are gone); failure
  cancels it and frees its rooms.
- :func:`expire_holds` and :func:`reconcile` are the beat's: holds past their
  time, payments still pending after ``PAYMENT_RECONCILE_AFTER_MINUTES`` and
  refunds not yet settled are settled through the gateway's APIs.
- :func:`request_refund`, :func:`send_refund`, :func:`follow_refund`: refunds
  through ``cancel_refund_transaction`` (a unique token each), followed with
  ``check_action_status`` until they settle.

Locks are taken payment first, then reservation, everywhere. No gateway call
is made while a row is locked.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from bookings.errors import NoAvailability
from bookings.models import Reservation
from bookings.reservations import cancel_reservation, confirm_pending, reinstate_cancelled
from pema.money import decimal_string, exact_minor, format_money

from .gateways import NotConfigured, hotel_gateway
from .gateways.payu.gateway import FAILURE, PENDING, SUCCESS
from .interface import CheckoutForm, GatewayRefused, GatewayUnavailable, Transaction
from .models import GatewayConfig, Payment, PaymentEvent, Refund

logger = logging.getLogger(__name__)

#: The source written on the change events the payment flow makes.
SOURCE = "payments"
EXPIRED = "expired: the payment hold ran out"
#: How long after its hold expired a payment is still looked up for a late success.
LATE_LOOKUP = timedelta(hours=1)


class RefundError(ValueError):
    """A refund that cannot be made (amount, state); the message is for staff."""


@dataclass(frozen=True)
class Outcome:
    """What a callback did: the HTTP status to answer and what the guest should see."""

    status_code: int
    result: str  # confirmed | failed | pending | refunded | rejected | duplicate
    message: str
    payment: Payment | None = None


# --------------------------------------------------------------------------- starting


def can_take_payment(hotel_id: int) -> bool:
    try:
        hotel_gateway(hotel_id)
    except NotConfigured:
        return False
    return True


def new_txnid() -> str:
    """Unique per attempt, at most 25 characters (PayU's limit): ``PM`` and 22 hex digits."""
    return "PM" + secrets.token_hex(11)


def start_payment(reservation: Reservation, gateway: str) -> Payment:
    """The payment a booking awaiting it is paid with (in the booking's transaction)."""
    return Payment.objects.create(
        reservation=reservation,
        gateway=gateway,
        txnid=new_txnid(),
        amount=reservation.total_amount,
        currency=reservation.currency,
    )


def public_url(path: str) -> str:
    return settings.PEMA_PUBLIC_URL.rstrip("/") + path


def checkout_form(payment: Payment) -> CheckoutForm:
    """The hosted checkout's form for ``payment``, hashed with the hotel's salt."""
    reservation = payment.reservation
    guest = reservation.guest
    back = public_url(reverse("payu-return"))
    return hotel_gateway(reservation.hotel_id).checkout(
        txnid=payment.txnid,
        amount=decimal_string(payment.amount, payment.currency),
        productinfo=f"{reservation.hotel.name}: stay {reservation.confirmation_number}",
        firstname=guest.first_name or "Guest",
        email=guest.email or "guest@example.com",
        phone="".join(ch for ch in guest.phone if ch.isdigit())[-10:],
        surl=back,
        furl=back,
        udf1=reservation.confirmation_number,
    )


def payment_data(payment: Payment, *, with_form: bool = True) -> dict:
    """The ``payment`` object of the booking API: what to post, or the page that posts it."""
    reservation = payment.reservation
    data = {
        "id": str(payment.public_id),
        "gateway": payment.gateway,
        "status": payment.status,
        "txnid": payment.txnid,
        "amount": payment.amount,
        "currency": payment.currency,
        "expires_at": (
            reservation.hold_expires_at.isoformat() if reservation.hold_expires_at else None
        ),
        "start_url": public_url(reverse("payment-start", args=[payment.public_id])),
        "webhook_url": public_url(reverse("payu-webhook")),
    }
    if with_form:
        form = checkout_form(payment)
        data.update(action=form.action, fields=form.fields)
    return data


# -------------------------------------------------------------------------- callbacks


def _event(kind: str, payment: Payment | None, body: dict, **fields) -> PaymentEvent:
    return PaymentEvent.objects.create(
        kind=kind,
        payment=payment,
        txnid=str(body.get("txnid", ""))[:64],
        body=body,
        **fields,
    )


def _close(event: PaymentEvent, outcome: Outcome) -> Outcome:
    event.answered = outcome.status_code
    event.outcome = f"{outcome.result}: {outcome.message}"[:300]
    event.payment = outcome.payment or event.payment
    event.save(update_fields=["answered", "outcome", "payment", "hash_verified"])
    return outcome


def _reject(event: PaymentEvent, message: str, payment: Payment | None = None) -> Outcome:
    logger.warning("Payment callback %s refused: %s", event.pk, message)
    return _close(event, Outcome(400, "rejected", message, payment))


def handle_callback(kind: str, form: dict[str, str]) -> Outcome:
    """A result the gateway posted (``kind``: return or webhook); see the module docstring."""
    body = {str(k)[:64]: str(v)[:2000] for k, v in form.items()}
    event = _event(kind, None, body)
    payment = (
        Payment.objects.select_related("reservation__hotel").filter(txnid=body.get("txnid", ""))
    ).first()
    if payment is None:
        return _reject(event, "unknown txnid")
    event.payment = payment
    try:
        gateway = hotel_gateway(payment.reservation.hotel_id)
    except NotConfigured as exc:
        return _reject(event, str(exc), payment)
    callback = gateway.read_callback(body)
    event.hash_verified = callback.hash_ok
    if not callback.hash_ok:
        return _reject(event, "the hash does not verify", payment)
    try:
        amount = exact_minor(callback.amount, payment.currency)
    except ValueError:
        return _reject(event, f"amount {callback.amount!r} is not an amount", payment)
    if amount != payment.amount:
        return _reject(event, f"amount {callback.amount} is not the amount asked", payment)
    if callback.status not in (SUCCESS, FAILURE, PENDING):
        return _reject(event, f"unknown status {callback.status!r}", payment)
    payment.refresh_from_db()
    if payment.status in Payment.PAID:
        if callback.status == SUCCESS and callback.mihpayid in ("", payment.mihpayid):
            return _close(event, Outcome(200, "duplicate", "already confirmed", payment))
        return _reject(event, f"replay: the payment is already {payment.status}", payment)
    if payment.status == Payment.Status.FAILED and callback.status != SUCCESS:
        return _close(event, Outcome(200, "duplicate", "already failed", payment))
    return _close(event, verify_and_settle(payment, claimed=callback.status))


def verify_and_settle(payment: Payment, *, claimed: str = "") -> Outcome:
    """Ask the gateway for the payment's state and apply it; pending if it cannot be asked."""
    try:
        gateway = hotel_gateway(payment.reservation.hotel_id)
        txn = gateway.verify_payment(payment.txnid)
    except (GatewayUnavailable, GatewayRefused, NotConfigured) as exc:
        _event(PaymentEvent.Kind.VERIFY, payment, {"error": str(exc)[:500]}, outcome="no answer")
        _mark_pending(payment)
        return Outcome(
            503, "pending", "the gateway could not be asked; it is asked again later", payment
        )
    _event(
        PaymentEvent.Kind.VERIFY,
        payment,
        txn.raw,
        outcome=f"{txn.status or 'not found'} {txn.amount}".strip(),
    )
    outcome = settle(payment, txn)
    if claimed and outcome.result in ("confirmed", "failed") and claimed != txn.status:
        _attention(payment, f"Callback said {claimed}; PayU's record says {txn.status}.")
    return outcome


def _mark_pending(payment: Payment) -> None:
    Payment.objects.filter(pk=payment.pk, status=Payment.Status.INITIATED).update(
        status=Payment.Status.PENDING, updated_at=timezone.now()
    )


def _attention(payment: Payment, text: str) -> None:
    Payment.objects.filter(pk=payment.pk).update(attention=text[:300])


def settle(payment: Payment, txn: Transaction) -> Outcome:
    """Apply the gateway's verified record of ``payment`` (first settlement wins)."""
    if not txn.found or txn.txnid != payment.txnid:
        _mark_pending(payment)
        return Outcome(202, "pending", "the gateway has no such payment yet", payment)
    try:
        amount = exact_minor(txn.amount, payment.currency)
    except ValueError:
        amount = None
    if amount != payment.amount:
        _attention(
            payment,
            f"PayU's record is for {txn.amount} {payment.currency}, Pema asked "
            f"{decimal_string(payment.amount, payment.currency)}: not trusted.",
        )
        return Outcome(400, "rejected", "the verified amount differs", payment)
    if txn.status == SUCCESS:
        return _succeed(payment, txn)
    if txn.status == FAILURE:
        return _fail(payment, txn.unmapped_status or "failure")
    _mark_pending(payment)
    return Outcome(202, "pending", "the payment is pending at the gateway", payment)


def _succeed(payment: Payment, txn: Transaction) -> Outcome:
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.status in Payment.PAID:
            return Outcome(200, "duplicate", "already confirmed", current)
        expired = current.failure_reason == EXPIRED
        current.status = Payment.Status.SUCCEEDED
        current.mihpayid = txn.mihpayid
        current.gateway_status = f"{txn.status}/{txn.unmapped_status}"[:64]
        current.failure_reason = ""
        current.settled_at = timezone.now()
        current.save()
        reservation = current.reservation
        if reservation.status == Reservation.Status.PENDING_PAYMENT:
            confirm_pending(reservation, source=SOURCE)
            return Outcome(200, "confirmed", "paid and confirmed", current)
        if reservation.status == Reservation.Status.CONFIRMED:
            return Outcome(200, "confirmed", "paid; the reservation was confirmed", current)
        if not expired:
            current.attention = "Paid for a reservation cancelled meanwhile: refunded in full."
            current.save(update_fields=["attention"])
            _queue_refund(current, current.amount, reason="paid for a cancelled reservation")
            return Outcome(200, "refunded", "the booking was cancelled; refunded", current)
        try:
            reinstate_cancelled(reservation, source=SOURCE)
        except NoAvailability:
            current.attention = (
                "Paid after its hold expired and the room was gone: refunded in full automatically."
            )
            current.save(update_fields=["attention"])
            _queue_refund(current, current.amount, reason="paid after the hold, room gone")
            return Outcome(200, "refunded", "the room was gone; the payment is refunded", current)
        current.attention = "Paid after its hold expired; the room was still free: confirmed."
        current.save(update_fields=["attention"])
        return Outcome(200, "confirmed", "paid late and confirmed", current)


def _fail(payment: Payment, reason: str) -> Outcome:
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.status in Payment.PAID:
            current.attention = f"PayU now says {reason}; Pema recorded the payment as paid."
            current.save(update_fields=["attention"])
            return Outcome(200, "duplicate", "already confirmed", current)
        if current.status == Payment.Status.FAILED:
            return Outcome(200, "duplicate", "already failed", current)
        current.status = Payment.Status.FAILED
        current.failure_reason = reason[:200]
        current.gateway_status = reason[:64]
        current.settled_at = timezone.now()
        current.save()
        _release(current.reservation, f"payment failed ({reason})")
    return Outcome(200, "failed", "the payment failed; the booking is cancelled", current)


def _release(reservation: Reservation, reason: str) -> None:
    """Cancel a reservation still awaiting payment (inside the payment's lock)."""
    locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if locked.status == Reservation.Status.PENDING_PAYMENT:
        cancel_reservation(locked, source=SOURCE, reason=reason)


# ----------------------------------------------------------------- expiry and the beat


def expire_holds(now=None) -> int:
    """Release every reservation whose payment hold ran out; return how many were released.

    The gateway is asked first: a payment that did succeed confirms the booking.
    """
    now = now or timezone.now()
    released = 0
    due = Reservation.objects.filter(
        status=Reservation.Status.PENDING_PAYMENT, hold_expires_at__lt=now
    )
    for reservation in due:
        for payment in reservation.payments.filter(status__in=Payment.OPEN):
            outcome = verify_and_settle(payment)
            if outcome.result in ("confirmed", "failed"):
                break
        with transaction.atomic():
            open_payments = list(
                Payment.objects.select_for_update().filter(reservation=reservation).order_by("id")
            )
            locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
            if locked.status != Reservation.Status.PENDING_PAYMENT:
                continue
            for payment in open_payments:
                if payment.status in Payment.OPEN:
                    payment.status = Payment.Status.FAILED
                    payment.failure_reason = EXPIRED
                    payment.settled_at = now
                    payment.save()
            cancel_reservation(locked, source=SOURCE, reason="payment hold expired")
            released += 1
    return released


def reconcile(older_than: timedelta | None = None) -> dict:
    """Verify open payments older than ``older_than`` (and expired ones, for a late success),
    and move every unsettled refund on."""
    if older_than is None:
        older_than = timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    now = timezone.now()
    report = {"verified": 0, "settled": 0, "refunds": 0}
    candidates = Payment.objects.filter(
        Q(status__in=Payment.OPEN, created_at__lte=now - older_than)
        | Q(status=Payment.Status.FAILED, failure_reason=EXPIRED, settled_at__gte=now - LATE_LOOKUP)
    ).select_related("reservation")
    for payment in candidates:
        outcome = verify_and_settle(payment)
        report["verified"] += 1
        report["settled"] += outcome.result in ("confirmed", "failed", "refunded")
    for refund in Refund.objects.filter(status__in=[Refund.Status.QUEUED, Refund.Status.REQUESTED]):
        if refund.status == Refund.Status.QUEUED:
            send_refund(refund.pk)
        else:
            follow_refund(refund.pk)
        report["refunds"] += 1
    return report


# ----------------------------------------------------------------------------- refunds


def _queue_refund(payment: Payment, amount: int, *, reason: str, by: str = "") -> Refund:
    """A refund row (the payment is locked by the caller), sent after the commit."""
    from . import tasks

    refund = Refund.objects.create(
        payment=payment,
        token="RF" + secrets.token_hex(12),
        amount=amount,
        reason=reason[:200],
        requested_by=by[:150],
    )
    transaction.on_commit(lambda: tasks.enqueue(tasks.send_refund, refund.pk))
    return refund


def request_refund(payment: Payment, amount: int, *, reason: str, by: str = "") -> Refund:
    """Refund ``amount`` (minor units) of a paid payment, at most what is left to refund."""
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        left = current.refundable
        if current.status not in Payment.PAID:
            raise RefundError(f"Payment {current.txnid} is {current.status}: nothing to refund.")
        if amount <= 0 or amount > left:
            raise RefundError(
                f"A refund of {current.txnid} is between 0.01 and "
                f"{format_money(left, current.currency)}."
            )
        return _queue_refund(current, amount, reason=reason, by=by)


def refund_for_cancellation(reservation: Reservation) -> Refund | None:
    """On cancellation: refund what was paid less the policy's fee (inside the cancel)."""
    fee = reservation.cancellation_fee or 0
    refund = None
    # Payments still open (the guest is at the checkout) can no longer confirm anything.
    Payment.objects.filter(reservation=reservation, status__in=Payment.OPEN).update(
        status=Payment.Status.FAILED,
        failure_reason="reservation cancelled",
        settled_at=timezone.now(),
    )
    # Not locked here: the cancellation holds the reservation, and payments are always
    # locked before their reservation elsewhere (locking them now could deadlock).
    for payment in Payment.objects.filter(reservation=reservation, status__in=Payment.PAID):
        left = payment.refundable
        owed = max(left - fee, 0)
        fee = max(fee - left, 0)
        if owed:
            refund = _queue_refund(payment, owed, reason="cancellation")
    return refund


def send_refund(refund_id: int) -> None:
    """Ask the gateway for a queued refund (repeating is safe: the token is the same)."""
    refund = Refund.objects.select_related("payment__reservation").get(pk=refund_id)
    if refund.status != Refund.Status.QUEUED:
        return
    payment = refund.payment
    try:
        answer = hotel_gateway(payment.reservation.hotel_id).refund(
            mihpayid=payment.mihpayid,
            token=refund.token,
            amount=decimal_string(refund.amount, payment.currency),
        )
    except (GatewayUnavailable, GatewayRefused, NotConfigured) as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:300])
        _event(PaymentEvent.Kind.REFUND, payment, {"error": str(exc)[:500]}, outcome="no answer")
        return
    _event(PaymentEvent.Kind.REFUND, payment, answer.raw, outcome=answer.message[:300])
    if answer.accepted:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.QUEUED).update(
            status=Refund.Status.REQUESTED, request_id=answer.request_id, last_error=""
        )
        from . import tasks

        tasks.enqueue(tasks.follow_refund, refund.pk, countdown=1)
    else:
        Refund.objects.filter(pk=refund.pk).update(
            status=Refund.Status.FAILED, last_error=answer.message[:300]
        )
        _attention(payment, f"PayU refused refund {refund.token}: {answer.message}")


def follow_refund(refund_id: int) -> bool:
    """Ask where a requested refund stands; settle it when the gateway says so."""
    refund = Refund.objects.select_related("payment__reservation").get(pk=refund_id)
    if refund.status != Refund.Status.REQUESTED:
        return refund.status == Refund.Status.SETTLED
    payment = refund.payment
    try:
        state = hotel_gateway(payment.reservation.hotel_id).refund_state(refund.request_id)
    except (GatewayUnavailable, GatewayRefused, NotConfigured) as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:300])
        return False
    _event(PaymentEvent.Kind.REFUND_STATUS, payment, state.raw, outcome=state.status[:300])
    if state.failed:
        Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED)
        _attention(payment, f"Refund {refund.token} failed at PayU.")
        return False
    if not state.settled:
        return False
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if not Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(
            status=Refund.Status.SETTLED, settled_at=timezone.now()
        ):
            return True
        current.refunded_amount += refund.amount
        current.status = (
            Payment.Status.REFUNDED
            if current.refunded_amount >= current.amount
            else Payment.Status.PARTLY_REFUNDED
        )
        current.save()
    return True


def refund_summary(reservation: Reservation) -> dict | None:
    """The refunds of a reservation, for the cancellation answer (None: nothing was paid)."""
    payments = list(reservation.payments.filter(status__in=Payment.PAID))
    if not payments:
        return None
    refunds = list(Refund.objects.filter(payment__in=payments).order_by("id"))
    return {
        "paid": sum(p.amount for p in payments),
        "amount": sum(r.amount for r in refunds if r.status != Refund.Status.FAILED),
        "currency": payments[0].currency,
        "status": refunds[-1].status if refunds else "none",
        "refunds": [
            {"token": r.token, "amount": r.amount, "status": r.status, "reason": r.reason}
            for r in refunds
        ],
    }


def configured_hotels() -> list[int]:
    return list(GatewayConfig.objects.filter(is_active=True).values_list("hotel_id", flat=True))
