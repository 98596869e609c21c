"""Booking and cancelling rooms at other hotels through a supplier.

:func:`book` is the whole flow:

1. a RECHECK rate is check-rated first (the supplier requires it); a rate
   paid at the hotel is refused, since it needs card data Pema does not take;
2. the selling price (net plus markup) is compared with the price the caller
   was shown: beyond the caller's tolerance it is :class:`PriceChanged`, with
   the new price, and nothing is booked;
3. the booking is sent once, under a client reference derived from the
   caller's idempotency key. It is never resent blindly: when its answer is
   lost (timeout, dropped connection) the supplier's bookings are listed by
   that client reference, and the booking found there is the one kept. A
   timed-out booking is never made twice;
4. the confirmed booking is stored as a :class:`SupplierBooking`.

:func:`cancel` quotes (``simulate``) or cancels; cancelling a cancelled
booking answers what it answered before, without calling the supplier.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .interface import (
    RECHECK,
    BookingOutcomeUnknown,
    BookingRequest,
    BookingResult,
    CancellationResult,
    Holder,
    Pax,
    SupplierError,
)
from .models import Supplier, SupplierBooking
from .registry import supplier_for
from .search import price

logger = logging.getLogger(__name__)
#: Cache key prefix of client references whose booking answer was lost and not yet found.
UNSETTLED = "suppliers:unsettled:"


class PriceChanged(SupplierError):
    code = "price_changed"

    def __init__(self, message: str, *, selling: int, net: int, currency: str) -> None:
        super().__init__(message)
        self.selling, self.net, self.currency = selling, net, currency


class OutcomeUnsettled(SupplierError):
    """The booking's answer was lost and listing by client reference failed too."""

    code = "booking_outcome_unknown"


@dataclass(frozen=True)
class Order:
    """What the caller asks to book."""

    supplier: Supplier
    rate_key: str
    rate_type: str
    holder: Holder
    paxes: tuple[Pax, ...]
    expected_selling: int | None
    currency: str
    tolerance_percent: float
    remark: str
    idempotency_owner: str
    idempotency_key: str
    destination: str = ""


def client_reference(owner: str, key: str) -> str:
    """A supplier reference (≤ 20 characters) fixed by the caller's idempotency key: a retry
    of the same request books under the same reference, so it can be found, not duplicated."""
    return "PEMA" + hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()[:16].upper()


def _within(expected: int, actual: int, tolerance_percent: float) -> bool:
    if expected <= 0:
        return actual == expected
    return abs(actual - expected) * 100 <= tolerance_percent * expected


def book(order: Order, *, api_key=None) -> SupplierBooking:
    supplier = order.supplier
    reference = client_reference(order.idempotency_owner, order.idempotency_key)
    existing = SupplierBooking.objects.filter(client_reference=reference).first()
    if existing is not None:
        return existing  # an earlier attempt of this very request got through
    implementation = supplier_for(supplier)
    rules = list(supplier.markup_rules.all())
    if cache.get(UNSETTLED + reference):
        # An earlier attempt's answer was lost and never found: look before booking again.
        found = settle(supplier, reference, attempts=1)
        if found is not None:
            selling, markup = price(rules, order.destination, found.net, found.currency)
            return _store(
                supplier, found, order, reference, selling, markup.as_dict(), True, api_key
            )
    rate_type = order.rate_type
    if rate_type == RECHECK:
        rate = implementation.check_rate(order.rate_key)
        selling, _ = price(rules, order.destination, rate.net, rate.currency)
        if order.expected_selling is not None and (
            rate.currency != order.currency
            or not _within(order.expected_selling, selling, order.tolerance_percent)
        ):
            raise PriceChanged(
                f"The price is now {selling} {rate.currency} (minor units), not "
                f"{order.expected_selling} {order.currency}.",
                selling=selling,
                net=rate.net,
                currency=rate.currency,
            )
    request = BookingRequest(
        rate_key=order.rate_key,
        holder=order.holder,
        paxes=order.paxes,
        client_reference=reference,
        remark=order.remark,
        tolerance_percent=order.tolerance_percent,
    )
    settled = False
    try:
        result = implementation.book(request)
    except BookingOutcomeUnknown:
        cache.set(UNSETTLED + reference, True, 7 * 86400)
        result = settle(supplier, reference)
        if result is None:
            raise
        settled = True
    cache.delete(UNSETTLED + reference)
    selling, markup = price(rules, order.destination, result.net, result.currency)
    if (
        order.expected_selling is not None
        and rate_type != RECHECK
        and not _within(order.expected_selling, selling, order.tolerance_percent)
    ):
        # The supplier booked within its own tolerance but Pema's price moved: keep it
        # (it is booked), and log, since cancelling could cost a fee.
        logger.warning(
            "supplier booking %s sells at %s, shown %s",
            result.reference,
            selling,
            order.expected_selling,
        )
    return _store(supplier, result, order, reference, selling, markup.as_dict(), settled, api_key)


def settle(
    supplier: Supplier, reference: str, *, attempts: int | None = None
) -> BookingResult | None:
    """The booking made under ``reference``, looked up after its answer was lost.

    The supplier may still be working on the request when Pema gave up on it,
    so the list is read a few times (``PEMA_SUPPLIER_SETTLE_DELAYS``) before
    the booking is taken as not made.
    """
    today = timezone.now().date()
    delays = list(settings.PEMA_SUPPLIER_SETTLE_DELAYS)
    tries = attempts or len(delays) + 1
    implementation = supplier_for(supplier)
    try:
        for attempt in range(tries):
            found = implementation.find_booking(
                reference,
                created_from=today - timedelta(days=1),
                created_to=today + timedelta(days=1),
            )
            if found is not None or attempt == tries - 1:
                return found
            time.sleep(delays[min(attempt, len(delays) - 1)])
        return None
    except SupplierError as exc:
        raise OutcomeUnsettled(
            f"The booking's answer was lost and {supplier.code}'s booking list could not be read "
            f"({exc.message}). Retry with the same Idempotency-Key: it is looked up, not rebooked."
        ) from exc


def _store(
    supplier, result: BookingResult, order: Order, reference, selling, markup, settled, api_key
) -> SupplierBooking:
    return SupplierBooking.objects.create(
        supplier=supplier,
        api_key=api_key,
        reference=result.reference,
        client_reference=reference,
        status=SupplierBooking.Status.CANCELLED
        if result.status == "CANCELLED"
        else SupplierBooking.Status.CONFIRMED,
        holder_name=order.holder.name,
        holder_surname=order.holder.surname,
        hotel_code=result.hotel_code,
        hotel_name=result.hotel_name,
        check_in=result.check_in,
        check_out=result.check_out,
        rate_type=order.rate_type,
        paxes=[p.__dict__ for p in order.paxes],
        net=result.net,
        selling=selling,
        currency=result.currency,
        markup=markup,
        cancellation_policies=[p.__dict__ for p in result.cancellation_policies],
        settled_by_lookup=settled,
        raw_request=result.raw_request,
        raw_response=result.raw_response,
    )


def cancel(booking: SupplierBooking, *, simulate: bool) -> CancellationResult:
    """Quote or cancel; a booking already cancelled is answered from what Pema holds."""
    if booking.status == SupplierBooking.Status.CANCELLED:
        return CancellationResult(
            reference=booking.reference,
            status="CANCELLED",
            fee=booking.cancellation_fee or 0,
            currency=booking.currency,
            simulated=simulate,
        )
    result = supplier_for(booking.supplier).cancel(booking.reference, simulate=simulate)
    if not simulate and result.status == "CANCELLED":
        SupplierBooking.objects.filter(pk=booking.pk).update(
            status=SupplierBooking.Status.CANCELLED,
            cancellation_fee=result.fee,
            cancelled_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return result
