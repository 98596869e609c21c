"""The Booking.com provider: ARI pushed, reservations pulled and acknowledged.

It speaks through :mod:`partners.booking_com.codec` (ARI, answers, RUID) and
:mod:`partners.booking_com.reservations` (reservations and acks), and sends
through :meth:`Provider.exchange`, which writes one ``SyncLog`` per call with
Booking's RUID as its ``correlation_id``.

- **ARI.** :meth:`push_availability` and :meth:`push_rates` take the engine's
  typed items, already mapped to Booking's room and rate ids (the engine
  leaves unmapped products out and names them in the sync log). One call may
  become several documents (one calendar month each).
- **Answers.** ``Success`` with warnings is a success (the warnings are
  logged); ``Errors``, or warnings that say a message was not processed,
  fail the call, transient when every failure may pass later
  (:attr:`codec.AriResponse.transient`), permanent otherwise. Booking answers
  ``Errors`` with HTTP 400, so 4xx bodies are read too.
- **Reservations.** :meth:`pull_reservations` GETs both endpoints on the
  secure host with Booking's ``limit`` (so an answer stays under the XML size
  cap); reservations of other properties of the same machine account are
  skipped (left queued at Booking for their own connection). :meth:`acknowledge`
  POSTs the acks; a 409 raises :class:`PullAgain`, a 401/403 ``Unauthorised``.

Credentials: ``username``, ``password`` (the machine account) and ``hotel_id``
(Booking's property id, sent as ``HotelCode``). Settings, all optional:
``min_stay_mode`` (``through`` or ``arrival``), ``secure_base_url``,
``horizon_days`` (365), ``target`` (``Production`` or ``Test``), ``pull_limit``,
``pull_interval_seconds`` (20, Booking's rule: lower only against the simulator,
which counts faster polling as a warning).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from channels.interface import (
    Acknowledgement,
    AriItem,
    AvailabilityItem,
    Capabilities,
    DeliveryResult,
    PullResult,
    RateItem,
    RestrictionItem,
    UnreadableMessage,
)
from channels.providers.base import PermanentError, Provider, PullAgain, TransientError
from pema.http_auth import BasicAuth

from . import codec, reservations

RUID = re.compile(rb"RUID:\s*\[?\s*([^\]\s]+)\s*\]?")
DEFAULT_PULL_LIMIT = 100
MAX_HORIZON_DAYS = 730


def check_ari_answer(answer: codec.AriResponse, notes: tuple[str, ...] = ()) -> str:
    """Raise for Booking's ``Errors`` or unprocessed messages; else the warnings to log."""
    if answer.not_processed:
        error = TransientError if answer.transient else PermanentError
        raise error(answer.summary())
    warnings = [answer.summary()] if answer.warnings else []
    return "; ".join([*warnings, *notes])


class BookingComProvider(Provider):
    """Booking.com (OTA XML): ARI out, reservations pulled."""

    key = "booking_com"
    label = "Booking.com (OTA, OTA XML)"
    credential_fields: ClassVar[dict[str, str]] = {
        "username": "Machine account username",
        "password": "Machine account password",
        "hotel_id": "Booking.com hotel id (HotelCode)",
    }
    #: Optional settings -> what they mean.
    optional_settings: ClassVar[dict[str, str]] = {
        "min_stay_mode": "Which minimum stay becomes SetMinLOS: through (default) or arrival",
        "secure_base_url": "Host for reservations (default: the base URL)",
        "horizon_days": "Days ahead ARI is sent (default 365)",
        "target": "Production (default) or Test",
        "pull_limit": f"Reservations per GET (default {DEFAULT_PULL_LIMIT})",
        "pull_interval_seconds": f"Seconds between pulls (default {codec.PULL_INTERVAL_SECONDS}, "
        "as Booking requires; lower only against the simulator)",
    }
    content_type = codec.CONTENT_TYPE
    limit_nets_reservations = True
    reads_error_answers = True
    #: Booking treats a GET within 5 s of an ack as misuse.
    wait_after_ack_seconds: ClassVar[float] = codec.ACK_WAIT_SECONDS

    # ------------------------------------------------------------------ settings
    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        if not isinstance(values, dict):
            return ["The settings must be a JSON object."]
        errors = [
            f"Unknown setting {name!r}." for name in values if name not in cls.optional_settings
        ]
        try:
            codec.min_stay_mode(values.get("min_stay_mode"))
        except codec.BookingCodecError as exc:
            errors.append(str(exc))
        if "target" in values:
            try:
                codec.check_target(values["target"])
            except codec.BookingCodecError as exc:
                errors.append(str(exc))
        limits = (("horizon_days", MAX_HORIZON_DAYS), ("pull_limit", 1000))
        for name, top in (*limits, ("pull_interval_seconds", 3600)):
            if name in values:
                value = values[name]
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                    errors.append(f"{name} must be a whole number from 1 to {top}.")
        url = values.get("secure_base_url")
        if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
            errors.append("secure_base_url must be an http(s) URL.")
        return errors

    @property
    def _settings(self) -> dict:
        return self.connection.settings or {}

    @property
    def hotel_id(self) -> str:
        return (self.connection.credentials or {}).get("hotel_id", "")

    @property
    def secure_base_url(self) -> str:
        return self._settings.get("secure_base_url") or self.connection.base_url

    @property
    def horizon_days(self) -> int:
        return int(self._settings.get("horizon_days") or codec.DEFAULT_HORIZON_DAYS)

    @property
    def target(self) -> str:
        return self._settings.get("target") or codec.TARGET_PRODUCTION

    @property
    def pull_limit(self) -> int:
        return int(self._settings.get("pull_limit") or DEFAULT_PULL_LIMIT)

    @property
    def pull_interval_seconds(self) -> int:
        return int(self._settings.get("pull_interval_seconds") or codec.PULL_INTERVAL_SECONDS)

    def capabilities(self) -> Capabilities:
        return codec.capabilities(
            horizon_days=self.horizon_days, pull_interval_seconds=self.pull_interval_seconds
        )

    # ------------------------------------------------------------------ transport
    def headers(self) -> dict[str, str]:
        return codec.request_headers()

    def auth(self) -> BasicAuth:
        creds = self.connection.credentials or {}
        return BasicAuth(creds.get("username", ""), creds.get("password", ""))

    def response_reference(self, answer: bytes) -> str:
        match = RUID.search(answer[-2048:])
        return match.group(1).decode("ascii", "replace") if match else ""

    def ari_wire_messages(self, item: dict) -> int:
        return 3 if item["type"] == "restr" else 1

    # ------------------------------------------------------------------ ARI
    def test_connection(self) -> str:
        """A GET of new reservations (nothing is acknowledged, so nothing is taken)."""
        batch = self._get(codec.RES_NOTIF, limit=1)
        waiting = len(batch.reservations) + len(batch.failures)
        return (
            f"Booking.com accepted the machine account for hotel {self.hotel_id}"
            f" ({'reservations' if waiting else 'no new reservations'} waiting)."
        )

    def push_availability(
        self, items: Sequence[AvailabilityItem | RestrictionItem], *, message_id: str
    ) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def push_rates(self, items: Sequence[RateItem], *, message_id: str) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def _push_ari(self, items: Sequence[AriItem], message_id: str) -> DeliveryResult:
        """One or more documents (one calendar month each) under the job's EchoToken."""
        try:
            documents = codec.build_ari_documents(
                list(items),
                hotel_id=self.hotel_id,
                currency=self.connection.hotel.currency,
                target=self.target,
                mode=codec.min_stay_mode(self._settings.get("min_stay_mode")),
                horizon_days=self.horizon_days,
                echo_token=message_id,
            )
        except codec.BookingCodecError as exc:
            raise PermanentError(f"Cannot be sent to Booking.com: {exc}") from exc
        if not documents:
            return DeliveryResult(
                skipped="All of it lies outside Booking.com's dates (yesterday on)."
            )
        warnings: list[str] = []
        for document in documents:
            answer = self.exchange(
                document.endpoint,
                document.body,
                lambda body, endpoint=document.endpoint: codec.parse_ari_response(
                    body, codec.ROOTS[endpoint][1]
                ),
                items=document.messages,
                correlation_id=message_id,
                check=lambda answer, d=document: check_ari_answer(answer, d.warnings),
                url=codec.endpoint_url(self.connection.base_url, document.endpoint),
            )
            warnings += [*document.warnings, *([answer.summary()] if answer.warnings else [])]
        return DeliveryResult(
            warnings=tuple(dict.fromkeys(warnings)),
            messages=sum(document.messages for document in documents),
        )

    # ------------------------------------------------------------------ reservations
    def _get(self, endpoint: str, *, limit: int) -> reservations.ReservationBatch:
        def others(batch: reservations.ReservationBatch) -> str:
            foreign = [r for r in batch.reservations if r.hotel_id and r.hotel_id != self.hotel_id]
            if not foreign:
                return ""
            return "Skipped, another property's: " + ", ".join(
                f"{r.reservation_id} (hotel {r.hotel_id})" for r in foreign
            )

        return self.exchange(
            endpoint,
            b"",
            lambda body: reservations.parse_reservations(body, endpoint=endpoint),
            check=others,
            method="GET",
            url=codec.endpoint_url(self.secure_base_url, endpoint),
            params={"hotel_ids": self.hotel_id, "limit": str(limit)},
        )

    def pull_reservations(self) -> PullResult:
        """New, then modified and cancelled reservations of this connection's property."""
        found, unreadable, warnings, more = [], [], [], False
        for endpoint in codec.RESERVATION_ENDPOINTS:
            batch = self._get(endpoint, limit=self.pull_limit)
            more = more or len(batch.reservations) + len(batch.failures) >= self.pull_limit
            mine = [r for r in batch.reservations if r.hotel_id in ("", self.hotel_id)]
            if len(mine) < len(batch.reservations):
                warnings.append(
                    f"{endpoint}: {len(batch.reservations) - len(mine)} reservations of "
                    "other properties skipped."
                )
            found += [
                reservations.to_inbound(r, endpoint=endpoint, received_at=batch.timestamp)
                for r in mine
            ]
            unreadable += [
                UnreadableMessage(
                    raw=failure.raw,
                    reason=f"Unreadable Booking.com reservation: {failure.reason}",
                    partner_reservation_id=failure.reservation_id,
                )
                for failure in batch.failures
            ]
        return PullResult(
            reservations=tuple(found),
            unreadable=tuple(unreadable),
            more=more,
            warnings=tuple(warnings),
        )

    def acknowledge(self, ack: Acknowledgement) -> None:
        """POST the acks; 409 (changed since the GET) raises :class:`PullAgain`."""
        for endpoint, body in reservations.acknowledgement_documents(ack, target=self.target):
            try:
                self.exchange(
                    endpoint,
                    body,
                    lambda answer, e=endpoint: reservations.parse_ack(answer, endpoint=e),
                    items=body.count(b"ResID_Value="),
                    check=_check_ack,
                    url=codec.endpoint_url(self.secure_base_url, endpoint),
                )
            except PermanentError as exc:
                if exc.http_status == 409:
                    raise PullAgain(
                        f"Booking.com: a reservation changed since it was read (409); "
                        f"read again before acknowledging. {exc.message}",
                        http_status=409,
                    ) from exc
                raise


def _check_ack(answer: reservations.BookingAck) -> str:
    if not answer.success:
        raise PermanentError("; ".join(str(e) for e in answer.errors) or "Ack refused.")
    return "; ".join(str(w) for w in answer.warnings)
