"""Hotelbeds APItude over the wire: signed JSON calls and what their answers mean.

Every call goes through :mod:`pema.http` with the shared signing hook
(:func:`pema.http_auth.key_secret_signature`: ``Api-key`` and ``X-Signature``
= SHA-256 of key + secret + Unix seconds, computed per request). Before it is
sent, the call is admitted by the configured gate (Pema's QPS pacing, daily
quota, back-off and repeat rule); after it, the answer is classified:

- 403 ``Developer Over QPS`` -> :class:`SupplierThrottled` (and the gate backs off);
- 403 ``Developer Over Rate`` -> :class:`QuotaExhausted` (no calls until the quota renews);
- other 401/403 -> :class:`SupplierRefused` (key, signature or clock);
- 402 -> :class:`PaymentRequired`; 410 -> a repeated failed request, refused;
- other 4xx -> :class:`SupplierRefused`, remembered so it is not sent again
  within the repeat window (Hotelbeds answers 410 to that);
- 5xx, connection errors, timeouts -> :class:`SupplierUnavailable`.

Bodies are never logged with headers; the key and signature exist on the wire only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pema import http
from pema.http_auth import SignedHeadersAuth, key_secret_signature
from suppliers.interface import (
    BookingOutcomeUnknown,
    PaymentRequired,
    QuotaExhausted,
    SupplierConfig,
    SupplierError,
    SupplierRefused,
    SupplierThrottled,
    SupplierUnavailable,
)

logger = logging.getLogger(__name__)

HOTEL_API = "/hotel-api/1.0"
CONTENT_API = "/hotel-content-api/1.0"
OVER_QPS = "Developer Over QPS"
OVER_RATE = "Developer Over Rate"
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # a 1,000-hotel content page is a few MB


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any


def fingerprint(method: str, url: str, body: Any) -> str:
    """The identity of a request for the repeat rule: same method, URL and body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body else ""
    return hashlib.sha256(f"{method} {url}\n{canonical}".encode()).hexdigest()[:32]


def error_text(data: Any, body: bytes) -> str:
    """The readable part of an error answer (Hotelbeds' ``error.message`` or the body)."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or "")[:300]
        if isinstance(error, str):
            return error[:300]
    return body.decode("utf-8", "replace")[:300]


class HotelbedsClient:
    """The calls of one Hotelbeds account."""

    def __init__(self, config: SupplierConfig) -> None:
        self.config = config
        creds = config.credentials
        self.auth = SignedHeadersAuth(
            key_secret_signature(
                creds.get("api_key", ""), creds.get("secret", ""), clock=config.clock
            )
        )

    def url(self, path: str, params: dict[str, Any] | None = None, *, secure: bool = False) -> str:
        base = (self.config.secure_base_url if secure else "") or self.config.base_url
        query = f"?{urlencode(params)}" if params else ""
        return base.rstrip("/") + path + query

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float,
        booking: bool = False,
    ) -> Answer:
        """One signed call; the answer's JSON, or the error it stands for.

        ``booking``: a lost answer is :class:`BookingOutcomeUnknown`, never a
        plain "unavailable" the caller might retry.
        """
        url = self.url(path, params)
        key = fingerprint(method, url, body)
        gate = self.config.gate
        gate.admit(operation, key)
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        try:
            answer = http.request(
                method,
                url,
                json=body,
                headers=headers,
                auth=self.auth,
                timeout=(min(5.0, timeout), timeout),
                deadline=timeout,
                max_bytes=MAX_ANSWER_BYTES,
            )
        except http.RequestException as exc:
            if booking:
                raise BookingOutcomeUnknown(
                    f"No answer from Hotelbeds to the booking ({type(exc).__name__})."
                ) from exc
            raise SupplierUnavailable(
                f"Hotelbeds did not answer {operation} ({type(exc).__name__})."
            ) from exc
        try:
            data = answer.json() if answer.body else None
        except ValueError:
            data = None
        if 200 <= answer.status < 300:
            if data is None:
                if booking:
                    raise BookingOutcomeUnknown("Hotelbeds' booking answer was not JSON.")
                raise SupplierUnavailable(f"Hotelbeds' {operation} answer was not JSON.")
            return Answer(answer.status, data)
        raise self._error(answer, data, key)

    def _error(self, answer: http.HttpResponse, data: Any, key: str) -> SupplierError:
        status = answer.status
        text = error_text(data, answer.body)
        mashery = answer.headers.get("X-Mashery-Error-Code", "")
        gate = self.config.gate
        if status == 403 and (OVER_QPS in text or mashery == "ERR_403_DEVELOPER_OVER_QPS"):
            retry = float(answer.headers.get("Retry-After") or 0) or None
            gate.throttled(retry or 0.0)
            return SupplierThrottled(
                "Hotelbeds: Developer Over QPS.", retry_after=retry or 1.0, http_status=403
            )
        if status == 403 and (OVER_RATE in text or mashery == "ERR_403_DEVELOPER_OVER_RATE"):
            gate.quota_exhausted()
            return QuotaExhausted(
                "Hotelbeds: Developer Over Rate (the daily quota is used up).", http_status=403
            )
        if status >= 500:
            return SupplierUnavailable(
                f"Hotelbeds answered HTTP {status}: {text}", http_status=status
            )
        if status in (401, 403):
            return SupplierRefused(
                f"Hotelbeds refused the credentials (HTTP {status}: {text}); check the key, "
                "the secret and the clock.",
                http_status=status,
            )
        if status == 429:
            gate.throttled(0.0)
            return SupplierThrottled("Hotelbeds: too many requests.", http_status=429)
        gate.failed(key)
        if status == 402:
            return PaymentRequired(
                "This rate needs card data at booking, which Pema does not take.", http_status=402
            )
        if status == 410:
            return SupplierRefused(
                f"Hotelbeds refused a repeat of a failed request (HTTP 410: {text}).",
                http_status=410,
            )
        return SupplierRefused(f"Hotelbeds answered HTTP {status}: {text}", http_status=status)
