"""What cancelling a reservation costs under its rate plan's cancellation policy.

A refundable plan cancels free until ``free_cancellation_days`` before
arrival (hotel-local dates); later, it charges the first N nights
(``cancellation_fee_type = nights``) or a percentage of the total. A
non-refundable plan charges the whole stay. A reservation whose payment
never settled (``pending_payment``) owes nothing: it was never sold.
"""

from __future__ import annotations

from datetime import date, timedelta

from .models import RatePlan, Reservation, RoomNight


def policy_of(plan: RatePlan, check_in: date) -> dict:
    """The policy as the API and the change log describe it."""
    until = None
    if plan.refundable:
        until = (check_in - timedelta(days=plan.free_cancellation_days)).isoformat()
    return {
        "refundable": plan.refundable,
        "free_cancellation_until": until,
        "fee_type": plan.cancellation_fee_type if plan.refundable else "percent",
        "fee_value": plan.cancellation_fee_value if plan.refundable else 100,
        "description": plan.cancellation_policy,
    }


def cancellation_fee(reservation: Reservation, today: date | None = None) -> int:
    """Minor units the policy keeps if ``reservation`` is cancelled on ``today``."""
    if reservation.status == Reservation.Status.PENDING_PAYMENT:
        return 0
    today = today or reservation.hotel.today()
    stays = list(reservation.rooms.select_related("rate_plan").order_by("id"))
    fee = 0
    for stay in stays:
        plan = stay.rate_plan
        if not plan.refundable:
            fee += stay.total_amount
            continue
        if (reservation.check_in - today).days >= plan.free_cancellation_days:
            continue
        if plan.cancellation_fee_type == RatePlan.CancellationFee.PERCENT:
            fee += (stay.total_amount * min(plan.cancellation_fee_value, 100) + 50) // 100
        else:
            prices = (
                RoomNight.objects.filter(stay=stay).order_by("date").values_list("price", flat=True)
            )
            fee += sum(list(prices)[: plan.cancellation_fee_value])
    return min(fee, reservation.total_amount)


def is_non_refundable(reservation: Reservation) -> bool:
    """Whether any room of the reservation is on a non-refundable plan."""
    return reservation.rooms.filter(rate_plan__refundable=False).exists()
