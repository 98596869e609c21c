"""The PayU India simulator, on the sandbox harness (partner ``payu``, served under /payu/).

What it speaks, as PayU does (``../shared/partners/pms-and-payments.md`` §4):

- ``POST /_payment``: the hosted checkout. It checks the required fields,
  their limits, the merchant key and the request hash; a ``txnid`` that
  already succeeded is refused ("duplicate Order ID"). A refusal is a 400
  page reading ``Error Reason: ...`` (PayU's own format is not published).
  The checkout page offers Pay (with PayU's test card, 5123 4567 8901 2346,
  CVV 123; another card is declined as ``bounced``), Fail (``userCancelled``)
  and Leave pending.
- The guest's choice (``POST /_payment/decide``) answers with a page that
  posts the result to ``surl`` (success) or ``furl`` (otherwise) through the
  browser, with the reverse hash; and sends the S2S webhook (the same form)
  to the configured URL, delayed, duplicated or dropped as configured.
- ``POST /merchant/postservice.php?form=2`` (``/merchant/postservice`` too):
  ``verify_payment`` (pipe-separated txnids), ``check_payment`` (mihpayid),
  ``cancel_refund_transaction`` (mihpayid, unique token, amount up to what is
  left; a repeated token repeats its answer) and ``check_action_status``
  (request id; a refund settles on its first check). Every call needs
  ``hash = sha512(key|command|var1|SALT)``; a bad one is answered
  ``{"status":0,"msg":"Invalid Hash."}``.

Control commands (``POST /_control/payu/<name>``):
``configure`` {webhook_url, webhook_delay_ms, webhook_copies, webhook_drop,
tamper_hash}; ``decide`` {txnid, action: pay|fail|pending, card} does what
the buttons do and returns the browser's post ({url, fields}); ``webhook``
{txnid, copies} sends the webhook now.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.conf import settings

from sandbox.simulator import CommandError, Request, Response, Simulator

from .hashes import command_hash, matches, request_hash, response_hash

TEST_CARD = "5123456789012346"
TEST_CVV = "123"
REQUIRED = ("key", "txnid", "amount", "productinfo", "firstname", "email", "phone", "surl",
            "furl", "hash")  # fmt: skip
LIMITS = {"txnid": 25, "productinfo": 100, "firstname": 60, "email": 50}
AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
ECHOED = ("key", "txnid", "amount", "productinfo", "firstname", "lastname", "email", "phone",
          "udf1", "udf2", "udf3", "udf4", "udf5")  # fmt: skip
TXN, REFUND, TOKEN, CONFIG = "txn", "refund", "token", "config"
OUTCOMES = {
    "pay": ("success", "captured", "E000", "No Error"),
    "declined": ("failure", "bounced", "E308", "Card declined"),
    "fail": ("failure", "userCancelled", "E1602", "Cancelled by the user"),
    "pending": ("pending", "pending", "", "Pending"),
}


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _html(body: str, status: int = 200) -> Response:
    return Response(status=status, body=body.encode(), content_type="text/html; charset=utf-8")


def _json(data: Any, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(data).encode(), content_type="application/json")


def _page(title: str, inner: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>{inner}</body></html>"
    )


class PayUSimulator(Simulator):
    """PayU's hosted checkout and General API, keeping its transactions in the store."""

    title = "PayU India"

    def __init__(self, context) -> None:
        super().__init__(context)
        self.merchants = {settings.PAYU_SANDBOX_KEY: settings.PAYU_SANDBOX_SALT}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"PayU merchant key {settings.PAYU_SANDBOX_KEY!r} (test card {TEST_CARD})"

    # ------------------------------------------------------------------ config

    def config(self) -> dict[str, Any]:
        default = {
            "webhook_url": settings.PEMA_PUBLIC_URL.rstrip("/") + "/payments/payu/webhook/",
            "webhook_delay_ms": 0,
            "webhook_copies": 1,
            "webhook_drop": False,
            "tamper_hash": False,
        }
        return {**default, **(self.store.get(CONFIG, "main") or {})}

    # ------------------------------------------------------------------ routing

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if request.method == "POST" and path == "/_payment":
            return self.checkout(_form(request.body))
        if request.method == "POST" and path == "/_payment/decide":
            form = _form(request.body)
            try:
                post = self.decide(form.get("txnid", ""), form.get("action", ""),
                                   form.get("card", ""))  # fmt: skip
            except CommandError as exc:
                return _html(_page("Error", f"<p>Error Reason: {html.escape(str(exc))}</p>"), 400)
            return _html(self._auto_post(post["url"], post["fields"]))
        if request.method == "POST" and path in ("/merchant/postservice.php",
                                                 "/merchant/postservice"):  # fmt: skip
            if request.param("form") != "2":
                return _json({"status": 0, "msg": "Only form=2 (JSON) is served here."}, 400)
            return self.command_api(_form(request.body))
        return Response(status=404, body=b"Not found\n", content_type="text/plain")

    # ------------------------------------------------------------------ checkout

    def _refuse(self, reason: str) -> Response:
        text = f"<h1>Error</h1><p>Error Reason: {html.escape(reason)}</p>"
        return _html(_page("PayU error", text), 400)

    def checkout(self, form: dict[str, str]) -> Response:
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            return self._refuse(f"Mandatory parameter missing: {', '.join(missing)}")
        for name, limit in LIMITS.items():
            if len(form[name]) > limit:
                return self._refuse(f"{name} is longer than {limit} characters")
        if any(len(form.get(f"udf{n}", "")) > 255 for n in range(1, 6)):
            return self._refuse("a udf is longer than 255 characters")
        if not AMOUNT.match(form["amount"]):
            return self._refuse("Invalid amount")
        salt = self.merchants.get(form["key"])
        if salt is None:
            return self._refuse("Invalid key")
        if not matches(request_hash(form, salt), form["hash"]):
            return self._refuse("Invalid Hash")
        with self._lock, self.store.transaction():
            known = self.store.get(TXN, form["txnid"])
            if known and known["status"] == "success":
                return self._refuse("duplicate Order ID: this txnid has already succeeded")
            record = {name: form.get(name, "") for name in ECHOED}
            mihpayid = known["mihpayid"] if known else str(4 * 10**11 + secrets.randbelow(10**11))
            record.update(
                surl=form["surl"], furl=form["furl"], status="initiated", unmappedstatus="",
                mihpayid=mihpayid,
                addedon=time.strftime("%Y-%m-%d %H:%M:%S"), refunded="0.00",
            )  # fmt: skip
            self.store.put(TXN, form["txnid"], record)
        return _html(self._checkout_page(record))

    def _checkout_page(self, record: dict[str, str]) -> str:
        txnid = html.escape(record["txnid"])
        inner = (
            "<h1>PayU test checkout</h1>"
            f"<p>Merchant payment <strong id='txnid'>{txnid}</strong>: "
            f"<strong id='amount'>INR {html.escape(record['amount'])}</strong> "
            f"for {html.escape(record['productinfo'])}</p>"
            "<form method='post' action='_payment/decide'>"
            f"<input type='hidden' name='txnid' value='{txnid}'>"
            f"<label>Card number <input name='card' value='{TEST_CARD}'></label> "
            f"<label>CVV <input name='cvv' value='{TEST_CVV}' size='4'></label> "
            "<label>OTP <input name='otp' value='123456' size='7'></label><p>"
            "<button name='action' value='pay' id='pay'>Pay</button> "
            "<button name='action' value='fail' id='fail'>Fail</button> "
            "<button name='action' value='pending' id='leave-pending'>Leave pending</button>"
            "</p></form>"
        )
        return _page("PayU checkout", inner)

    def _auto_post(self, url: str, fields: dict[str, str]) -> str:
        inputs = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in fields.items()
        )
        return _page(
            "Returning to the merchant",
            f"<p>Returning to the merchant...</p><form id='back' method='post' "
            f"action='{html.escape(url)}'>{inputs}<button>Continue</button></form>"
            "<script>document.getElementById('back').submit();</script>",
        )

    def decide(self, txnid: str, action: str, card: str = "") -> dict[str, Any]:
        """Apply the guest's choice; send the webhook; return the browser's post."""
        if action == "pay" and card and card.replace(" ", "") != TEST_CARD:
            action = "declined"
        if action not in OUTCOMES or action == "declined" and not card:
            raise CommandError(f"unknown action {action!r}")
        status, unmapped, code, message = OUTCOMES[action]
        with self._lock, self.store.transaction():
            record = self.store.get(TXN, txnid)
            if record is None:
                raise CommandError(f"unknown txnid {txnid!r}")
            if record["status"] == "success":
                raise CommandError("this payment has already succeeded")
            record.update(status=status, unmappedstatus=unmapped, error=code, error_Message=message)
            self.store.put(TXN, txnid, record)
        fields = self.result_fields(record)
        self.send_webhook(txnid)
        url = record["surl"] if status == "success" else record["furl"]
        return {"url": url, "fields": fields}

    def result_fields(self, record: dict[str, str]) -> dict[str, str]:
        salt = self.merchants[record["key"]]
        fields = {name: record.get(name, "") for name in ECHOED}
        fields.update(
            mihpayid=record["mihpayid"], mode="CC", status=record["status"],
            unmappedstatus=record["unmappedstatus"], addedon=record["addedon"],
            bank_ref_num=record["mihpayid"][-6:], bankcode="CC", error=record.get("error", ""),
            error_Message=record.get("error_Message", ""), PG_TYPE="CC-PG",
            net_amount_debit=record["amount"],
        )  # fmt: skip
        fields["hash"] = response_hash(fields, salt)
        if self.config()["tamper_hash"]:
            fields["hash"] = ("0" if fields["hash"][0] != "0" else "1") + fields["hash"][1:]
        return fields

    def send_webhook(self, txnid: str, copies: int | None = None, *, force: bool = False) -> int:
        """POST the S2S callback as configured (in the background); the copies sent."""
        config = self.config()
        if config["webhook_drop"] and not force:
            return 0
        record = self.store.get(TXN, txnid)
        if record is None or not config["webhook_url"]:
            return 0
        body = urlencode(self.result_fields(record)).encode()
        copies = max(int(config["webhook_copies"] if copies is None else copies), 1)
        delay = max(int(config["webhook_delay_ms"]), 0) / 1000

        def deliver() -> None:
            if delay:
                time.sleep(delay)
            for _ in range(copies):
                delivery = self.context.push(
                    config["webhook_url"],
                    body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                self.store.increment("webhooks", txnid)
                self.store.put("webhook_answers", f"{txnid}:{time.time()}", delivery.status)

        threading.Thread(target=deliver, daemon=True).start()
        return copies

    # --------------------------------------------------------------- command API

    def command_api(self, form: dict[str, str]) -> Response:
        key, command, var1 = form.get("key", ""), form.get("command", ""), form.get("var1", "")
        salt = self.merchants.get(key)
        if salt is None or not var1 or not command:
            return _json({"status": 0, "msg": "Invalid key or missing parameters."})
        if not matches(command_hash(key, command, var1, salt), form.get("hash")):
            return _json({"status": 0, "msg": "Invalid Hash."})
        handler = {
            "verify_payment": self._verify,
            "check_payment": self._check_payment,
            "cancel_refund_transaction": self._refund,
            "check_action_status": self._action_status,
        }.get(command)
        if handler is None:
            return _json({"status": 0, "msg": f"Invalid command {command}."})
        return _json(handler(form))

    def _details(self, record: dict[str, str]) -> dict[str, Any]:
        status = "success" if record["status"] == "success" else record["status"]
        if status == "initiated":
            status = "pending"
        return {
            "mihpayid": record["mihpayid"], "request_id": "",
            "bank_ref_num": record["mihpayid"][-6:],
            "amt": record["amount"], "transaction_amount": record["amount"],
            "txnid": record["txnid"], "additional_charges": "0.00",
            "productinfo": record["productinfo"], "firstname": record["firstname"],
            "bankcode": "CC", "udf1": record.get("udf1", ""), "error_code": record.get("error", ""),
            "addedon": record["addedon"], "mode": "CC", "status": status,
            "unmappedstatus": record["unmappedstatus"] or "initiated",
            "net_amount_debit": record["amount"], "Merchant_UTR": None,
            "Settled_At": "0000-00-00 00:00:00",
        }  # fmt: skip

    def _verify(self, form: dict[str, str]) -> dict[str, Any]:
        ids = [t for t in form["var1"].split("|") if t]
        details, found = {}, 0
        for txnid in ids:
            record = self.store.get(TXN, txnid)
            if record is None:
                details[txnid] = {"mihpayid": "Not Found", "status": "Not Found"}
            else:
                details[txnid] = self._details(record)
                found += 1
        return {
            "status": 1,
            "msg": f"{found} out of {len(ids)} Transactions Fetched Successfully",
            "transaction_details": details,
        }

    def _find_by_mihpayid(self, mihpayid: str) -> dict[str, str] | None:
        return next((r for _, r in self.store.items(TXN) if r["mihpayid"] == mihpayid), None)

    def _check_payment(self, form: dict[str, str]) -> dict[str, Any]:
        record = self._find_by_mihpayid(form["var1"])
        if record is None:
            return {"status": 0, "msg": "Transaction not found"}
        return {"status": 1, "msg": "Transaction Fetched Successfully",
                "transaction_details": self._details(record)}  # fmt: skip

    def _refund(self, form: dict[str, str]) -> dict[str, Any]:
        mihpayid, token, amount = form["var1"], form.get("var2", ""), form.get("var3", "")
        if not token:
            return {"status": 0, "msg": "Token ID (var2) is mandatory"}
        if not AMOUNT.match(amount) or float(amount) <= 0:
            return {"status": 0, "msg": "Invalid amount"}
        with self._lock, self.store.transaction():
            earlier = self.store.get(TOKEN, token)
            if earlier is not None:
                return earlier["answer"]  # the same request again: the same answer
            record = self._find_by_mihpayid(mihpayid)
            if record is None or record["status"] != "success":
                return {"status": 0, "msg": "Invalid payuid or the transaction is not captured"}
            cents = round(float(amount) * 100)
            left = round(float(record["amount"]) * 100) - round(float(record["refunded"]) * 100)
            if cents > left:
                return {"status": 0, "msg": "Refund amount is greater than the amount left"}
            request_id = str(100000000 + secrets.randbelow(900000000))
            record["refunded"] = f"{(round(float(record['refunded']) * 100) + cents) / 100:.2f}"
            self.store.put(TXN, record["txnid"], record)
            answer = {"status": 1, "msg": "Refund Request Queued", "request_id": request_id,
                      "bank_ref_num": None, "mihpayid": mihpayid}  # fmt: skip
            self.store.put(REFUND, request_id, {
                "request_id": request_id, "token": token, "mihpayid": mihpayid, "amt": amount,
                "action": "refund", "status": "queued", "merchantTxnId": record["txnid"],
            })  # fmt: skip
            self.store.put(TOKEN, token, {"answer": answer})
        return answer

    def _action_status(self, form: dict[str, str]) -> dict[str, Any]:
        request_id = form["var1"]
        with self._lock, self.store.transaction():
            refund = self.store.get(REFUND, request_id)
            if refund is None:
                return {"status": 0, "msg": "No action status found"}
            refund["status"] = "success"  # settles on its first check
            refund["bank_arn"] = refund.get("bank_arn") or str(secrets.randbelow(10**12))
            self.store.put(REFUND, request_id, refund)
        return {"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully",
                "transaction_details": {request_id: refund}}  # fmt: skip

    # ------------------------------------------------------------------ control

    def command(self, name: str, payload: dict[str, Any]) -> Any:
        if name == "configure":
            allowed = set(self.config())
            unknown = set(payload) - allowed
            if unknown:
                raise CommandError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            current = {**(self.store.get(CONFIG, "main") or {}), **payload}
            self.store.put(CONFIG, "main", current)
            return self.config()
        if name == "decide":
            return self.decide(str(payload.get("txnid", "")), str(payload.get("action", "")),
                               str(payload.get("card", "")))  # fmt: skip
        if name == "webhook":
            txnid = str(payload.get("txnid", ""))
            if self.store.get(TXN, txnid) is None:
                raise CommandError(f"unknown txnid {txnid!r}")
            return {"sent": self.send_webhook(txnid, payload.get("copies"), force=True)}
        return super().command(name, payload)

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": self.config(),
            "transactions": {k: v for k, v in self.store.items(TXN)},
            "refunds": {k: v for k, v in self.store.items(REFUND)},
            "webhooks": {k: v for k, v in self.store.items("webhooks")},
        }
