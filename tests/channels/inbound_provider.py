"""A small partner for the inbound tests: it pushes signed JSON and takes JSON acks.

Test scaffolding, registered under ``test_inbound`` by the ``inbound_provider``
fixture: the engine under test (recording, applying, acknowledging, the hook
route) is the real one; this only speaks a made-up partner's wire format.

Pushes carry ``X-Test-Timestamp`` (Unix seconds) and ``X-Test-Signature``, the
hex HMAC-SHA256 of ``<timestamp>.<body>`` under the connection's ``secret``;
older than five minutes is a replay. The body is ``{"reservations": [...]}``,
each item in ``InboundReservation.to_json`` form.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from channels.interface import Acknowledgement, InboundReservation, WebhookRequest
from channels.providers.base import PermanentError, Provider, WebhookRefused

REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class InboundTestProvider(Provider):
    key = "test_inbound"
    credential_fields = {"secret": "Signing secret"}

    def verify_webhook(self, request: WebhookRequest) -> None:
        stamp = request.header("X-Test-Timestamp")
        if not stamp.isdigit():
            raise WebhookRefused("No timestamp.", http_status=401)
        if abs(request.received_at.timestamp() - int(stamp)) > REPLAY_WINDOW_SECONDS:
            raise WebhookRefused("Outside the replay window.", http_status=401)
        expected = sign(self.connection.credentials.get("secret", ""), int(stamp), request.body)
        if not hmac.compare_digest(expected, request.header("X-Test-Signature")):
            raise WebhookRefused("Bad signature.", http_status=403)

    def parse_webhook(self, request: WebhookRequest) -> tuple[InboundReservation, ...]:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("Expected a JSON object.")
        return tuple(
            InboundReservation.from_json(item, raw=json.dumps(item).encode())
            for item in data.get("reservations", [])
        )

    def acknowledge(self, ack: Acknowledgement) -> None:
        body = json.dumps(
            {
                "accepted": [r.ack_token for r in ack.applied],
                "rejected": [{"token": r.ack_token, "reason": why} for r, why in ack.rejected],
            }
        ).encode()

        def check(answer: dict) -> str:
            if answer.get("errors"):
                raise PermanentError("; ".join(answer["errors"]))
            return ""

        self.exchange("ack", body, json.loads, items=len(ack.applied) + len(ack.rejected),
                      check=check)  # fmt: skip
