"""The typed contract between the payment flow and a gateway (PayU today).

The flow (``payments/flow.py``) speaks only these types; a gateway module
turns them into its wire format and back. ``GatewayUnavailable`` means the
gateway could not be asked (down, timing out, answering garbage): the flow
then keeps what it knows and the reconciliation asks again later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GatewayUnavailable(Exception):
    """The gateway could not be asked or gave no usable answer; try again later."""


class GatewayRefused(Exception):
    """The gateway answered and refused the request (a bad hash, an unknown payment)."""


@dataclass(frozen=True)
class CheckoutForm:
    """What the guest's browser posts to the gateway's hosted checkout."""

    action: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Callback:
    """A result the gateway posted (browser return or webhook), read and checked."""

    txnid: str
    status: str  # success | failure | pending
    amount: str  # the decimal string as posted
    mihpayid: str
    key: str
    hash_ok: bool
    unmapped_status: str = ""
    error: str = ""


@dataclass(frozen=True)
class Transaction:
    """The gateway's own record of a payment (verify_payment)."""

    txnid: str
    found: bool
    status: str = ""  # success | failure | pending
    amount: str = ""
    mihpayid: str = ""
    unmapped_status: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    """The gateway's answer to a refund request."""

    accepted: bool
    request_id: str = ""
    message: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundState:
    """Where a refund stands at the gateway (check_action_status)."""

    settled: bool
    failed: bool = False
    status: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
