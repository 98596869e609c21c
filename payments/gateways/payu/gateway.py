"""PayU India over the wire: the hosted checkout form and the General ("command") API.

Every call goes through ``pema/http.py``. The command API is a form POST to
``.../merchant/postservice.php?form=2`` with ``key``, ``command``, ``var1``
(``var2``, ``var3``) and ``hash = sha512(key|command|var1|SALT)``; it answers
JSON whose top-level ``status`` is 1 when the call itself succeeded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pema import http

from ...interface import (
    Callback,
    CheckoutForm,
    GatewayRefused,
    GatewayUnavailable,
    RefundRequest,
    RefundState,
    Transaction,
)
from .hashes import command_hash, matches, request_hash, response_hash

logger = logging.getLogger(__name__)

URLS = {
    "test": ("https://test.payu.in/_payment", "https://test.payu.in/merchant/postservice.php"),
    "production": (
        "https://secure.payu.in/_payment",
        "https://info.payu.in/merchant/postservice.php",
    ),
}
#: PayU's results that mean the money was taken (``status`` as posted and verified).
SUCCESS = "success"
FAILURE = "failure"
PENDING = "pending"


@dataclass(frozen=True)
class PayUCredentials:
    """The merchant key and salt, and where PayU is (its own URLs, or a simulator's)."""

    key: str
    salt: str
    mode: str = "test"
    base_url: str = ""

    @property
    def checkout_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/") + "/_payment"
        return URLS.get(self.mode, URLS["test"])[0]

    @property
    def command_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/") + "/merchant/postservice.php?form=2"
        return URLS.get(self.mode, URLS["test"])[1] + "?form=2"


class PayUGateway:
    """One hotel's PayU merchant account."""

    name = "payu"

    def __init__(self, credentials: PayUCredentials) -> None:
        self.credentials = credentials

    # ------------------------------------------------------------------ checkout

    def checkout(
        self,
        *,
        txnid: str,
        amount: str,
        productinfo: str,
        firstname: str,
        email: str,
        phone: str,
        surl: str,
        furl: str,
        udf1: str = "",
    ) -> CheckoutForm:
        """The hosted checkout's form fields, hashed over exactly these strings."""
        fields = {
            "key": self.credentials.key,
            "txnid": txnid,
            "amount": amount,
            "productinfo": productinfo[:100],
            "firstname": firstname[:60],
            "email": email[:50],
            "phone": phone or "0000000000",
            "surl": surl,
            "furl": furl,
            "udf1": udf1,
        }
        fields["hash"] = request_hash(fields, self.credentials.salt)
        return CheckoutForm(action=self.credentials.checkout_url, fields=fields)

    def read_callback(self, form: Mapping[str, str]) -> Callback:
        """A result posted to surl/furl or the webhook, with its reverse hash checked."""
        expected = response_hash(form, self.credentials.salt)
        return Callback(
            txnid=form.get("txnid", ""),
            status=(form.get("status") or "").lower(),
            amount=form.get("amount", ""),
            mihpayid=form.get("mihpayid", ""),
            key=form.get("key", ""),
            hash_ok=matches(expected, form.get("hash"))
            and form.get("key", "") == self.credentials.key,
            unmapped_status=form.get("unmappedstatus", ""),
            error=form.get("error_Message", "") or form.get("error", ""),
        )

    # -------------------------------------------------------------- command API

    def _command(self, command: str, var1: str, **extra: str) -> dict:
        key, salt = self.credentials.key, self.credentials.salt
        form = {
            "key": key,
            "command": command,
            "var1": var1,
            **extra,
            "hash": command_hash(key, command, var1, salt),
        }
        try:
            answer = http.post(
                self.credentials.command_url,
                urlencode(form).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            )
        except http.RequestException as exc:
            raise GatewayUnavailable(f"PayU {command}: {exc}") from exc
        if answer.status >= 500 or answer.status == 429:
            raise GatewayUnavailable(f"PayU {command}: HTTP {answer.status}")
        try:
            data = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise GatewayUnavailable(f"PayU {command}: not JSON (HTTP {answer.status})") from exc
        if not isinstance(data, dict):
            raise GatewayUnavailable(f"PayU {command}: not a JSON object")
        if answer.status >= 400:
            raise GatewayRefused(f"PayU {command}: HTTP {answer.status} {data.get('msg', '')}")
        return data

    def verify_payment(self, txnid: str) -> Transaction:
        """PayU's record of ``txnid``; ``found=False`` when PayU has none."""
        data = self._command("verify_payment", txnid)
        if str(data.get("status")) != "1":
            raise GatewayRefused(f"verify_payment refused: {data.get('msg', '')}")
        details = (data.get("transaction_details") or {}).get(txnid)
        if not isinstance(details, dict) or details.get("status") in (None, "Not Found"):
            return Transaction(txnid=txnid, found=False, raw=data)
        return Transaction(
            txnid=str(details.get("txnid", "")),
            found=True,
            status=str(details.get("status", "")).lower(),
            amount=str(details.get("amt") or details.get("transaction_amount") or ""),
            mihpayid=str(details.get("mihpayid", "")),
            unmapped_status=str(details.get("unmappedstatus", "")),
            raw=data,
        )

    def refund(self, *, mihpayid: str, token: str, amount: str) -> RefundRequest:
        """Refund (or cancel) ``amount`` of a captured payment; ``token`` is unique per refund."""
        data = self._command("cancel_refund_transaction", mihpayid, var2=token, var3=amount)
        accepted = str(data.get("status")) == "1"
        request_id = str(data.get("request_id") or data.get("txn_update_id") or "")
        return RefundRequest(
            accepted=accepted and bool(request_id),
            request_id=request_id,
            message=str(data.get("msg", "")),
            raw=data,
        )

    def refund_state(self, request_id: str) -> RefundState:
        """Where the refund ``request_id`` stands (check_action_status)."""
        data = self._command("check_action_status", request_id)
        details = (data.get("transaction_details") or {}).get(request_id)
        if str(data.get("status")) != "1" or not isinstance(details, dict):
            return RefundState(settled=False, status=str(data.get("msg", "")), raw=data)
        status = str(details.get("status", "")).lower()
        return RefundState(
            settled=status == SUCCESS,
            failed=status in (FAILURE, "failed"),
            status=status,
            raw=data,
        )
