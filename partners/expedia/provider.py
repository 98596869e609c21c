"""The Expedia QuickConnect provider: ARI pushed (AR), bookings pulled (BR) and confirmed (BC).

It speaks through :mod:`partners.expedia.codec` and sends through
:meth:`Provider.exchange`, which writes one ``SyncLog`` per call.

- **ARI.** :meth:`push_availability` and :meth:`push_rates` take the engine's
  typed items, already mapped to Expedia's room type and rate plan ids, and
  send ``AvailRateUpdateRQ`` documents of at most 5,000 updates each, weekday
  patterns as ``DateRange`` flags.
- **Answers.** ``Error`` (codes 1000-7000) means nothing was applied: the call
  fails, transient when every code is one Expedia calls temporary (3210),
  permanent otherwise. ``Success`` with ``Warning`` (7000-8000) is a partial
  success: the warned items were not applied, the rest were; the warnings
  (with their dates) go on the job and its sync log rows. HTTP 429 and 5xx are
  transient (``Retry-After`` honoured by the outbox), 401/403 refuse the
  credentials.
- **Bookings.** :meth:`pull_reservations` asks BR for pending and retrieved
  bookings of this property; each transaction (Book, Modify, Cancel) becomes
  one ``InboundReservation`` keyed by Expedia's booking id, and the inbound
  pipeline stores and applies it. :meth:`acknowledge` confirms the applied
  ones with BC, carrying Pema's confirmation number, after the local commit.
  Expedia releases a booking's next transaction only once the previous one is
  confirmed; a transaction held in Pema is left unconfirmed (Expedia knows no
  rejection, and falls back to email at its deadline) and holds back only its
  own booking. A BC warning for one booking (10081) fails that booking's
  confirmation only.

Credentials: ``username``, ``password`` (the EQC account) and ``hotel_id``.
Settings, all optional: ``pricing`` (``per_day`` or ``per_occupancy``),
``occupancy`` (occupancies priced, per_occupancy), ``pull_interval_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from channels.interface import (
    Acknowledgement,
    AckOutcome,
    AriItem,
    AvailabilityItem,
    Capabilities,
    DeliveryResult,
    PullResult,
    RateItem,
    RestrictionItem,
    UnreadableMessage,
)
from channels.providers.base import PermanentError, Provider, TransientError, Unauthorised

from . import codec

#: Expedia's answer for credentials it does not know (HTTP 200 with an Error).
AUTH_ERRORS = frozenset({"1001", "1002", "1003"})


def check_ar_answer(answer: codec.ArResponse) -> str:
    """Raise for ``Error`` (nothing applied); else the warnings (partial success) to log."""
    if answer.errors:
        if any(e.code in AUTH_ERRORS for e in answer.errors):
            raise Unauthorised(answer.summary())
        error = TransientError if answer.transient else PermanentError
        raise error(answer.summary())
    return answer.summary() if answer.warnings else ""


class ExpediaProvider(Provider):
    """Expedia QuickConnect (EQC XML): ARI out, bookings pulled and confirmed."""

    key = "expedia"
    label = "Expedia (OTA, EQC XML)"
    credential_fields: ClassVar[dict[str, str]] = {
        "username": "EQC username",
        "password": "EQC password",
        "hotel_id": "Expedia hotel id",
    }
    optional_settings: ClassVar[dict[str, str]] = {
        "pricing": "The property's pricing model at Expedia: per_day (default) or per_occupancy",
        "occupancy": "per_occupancy: the occupancies priced (1 to this, default 2)",
        "pull_interval_seconds": f"Seconds between pulls (default {codec.PULL_INTERVAL_SECONDS})",
    }
    content_type = codec.CONTENT_TYPE
    limit_nets_reservations = True
    #: The health page shows transactions unconfirmed for longer in red.
    ack_alert_seconds: ClassVar[int | None] = codec.CONFIRM_ALERT_SECONDS

    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        if not isinstance(values, dict):
            return ["The settings must be a JSON object."]
        errors = [
            f"Unknown setting {name!r}." for name in values if name not in cls.optional_settings
        ]
        if "pricing" in values and values["pricing"] not in codec.PRICING_MODELS:
            errors.append("pricing must be per_day or per_occupancy.")
        for name, top in (("occupancy", 8), ("pull_interval_seconds", 1800)):
            value = values.get(name)
            if name in values and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top
            ):
                errors.append(f"{name} must be a whole number from 1 to {top}.")
        return errors

    @classmethod
    def validate_credentials(cls, values: dict) -> list[str]:
        errors = super().validate_credentials(values)
        if errors or not isinstance(values, dict):
            return errors
        if not 4 <= len(values["username"]) <= 30:
            errors.append("The EQC username is 4 to 30 characters.")
        if not 6 <= len(values["password"]) <= 30:
            errors.append("The EQC password is 6 to 30 characters.")
        if not (values["hotel_id"].isdigit() and len(values["hotel_id"]) <= 14):
            errors.append("The Expedia hotel id is a number of up to 14 digits.")
        return errors

    # ------------------------------------------------------------------ settings
    @property
    def _settings(self) -> dict:
        return self.connection.settings or {}

    @property
    def _credentials(self) -> dict:
        return self.connection.credentials or {}

    @property
    def hotel_id(self) -> str:
        return self._credentials.get("hotel_id", "")

    @property
    def pricing(self) -> str:
        return self._settings.get("pricing") or codec.PER_DAY

    def capabilities(self) -> Capabilities:
        return codec.capabilities(
            pricing=self.pricing,
            pull_interval_seconds=int(
                self._settings.get("pull_interval_seconds") or codec.PULL_INTERVAL_SECONDS
            ),
        )

    def _auth(self) -> dict[str, str]:
        creds = self._credentials
        return {
            "username": creds.get("username", ""),
            "password": creds.get("password", ""),
            "hotel_id": self.hotel_id,
        }

    # ------------------------------------------------------------------ ARI
    def push_availability(
        self, items: Sequence[AvailabilityItem | RestrictionItem], *, message_id: str
    ) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def push_rates(self, items: Sequence[RateItem], *, message_id: str) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def _push_ari(self, items: Sequence[AriItem], message_id: str) -> DeliveryResult:
        documents = codec.build_ar_documents(
            list(items),
            **self._auth(),
            today=self.connection.hotel.today(),
            pricing=self.pricing,
            occupancy=int(self._settings.get("occupancy") or 2),
            message_id=message_id,
        )
        if not documents:
            return DeliveryResult(skipped="All of it lies outside Expedia's dates (yesterday on).")
        warnings: list[str] = []
        for document in documents:
            answer = self.exchange(
                codec.AR_PATH,
                document.body,
                codec.parse_ar_response,
                items=document.updates,
                correlation_id=message_id,
                check=check_ar_answer,
            )
            warnings += [*document.warnings, *([answer.summary()] if answer.warnings else [])]
        return DeliveryResult(warnings=tuple(dict.fromkeys(warnings)), messages=len(documents))

    def test_connection(self) -> str:
        """A BR of one booking id that cannot exist: Expedia checks the account, takes nothing."""
        body = codec.build_br_request(**self._auth(), booking_id="0")
        self.exchange(codec.BR_PATH, body, codec.parse_br_response, check=_check_br)
        return f"Expedia accepted the EQC account for hotel {self.hotel_id}."

    # ------------------------------------------------------------------ bookings
    def pull_reservations(self) -> PullResult:
        """Pending and retrieved transactions (one per booking: Expedia holds the next back)."""
        body = codec.build_br_request(**self._auth())
        answer = self.exchange(codec.BR_PATH, body, codec.parse_br_response, check=_check_br)
        mine = [b for b in answer.bookings if b.hotel_id in ("", self.hotel_id)]
        warnings = []
        if len(mine) < len(answer.bookings):
            warnings.append(
                f"{len(answer.bookings) - len(mine)} bookings of other properties skipped."
            )
        return PullResult(
            reservations=tuple(codec.to_inbound(b) for b in mine),
            unreadable=tuple(
                UnreadableMessage(
                    raw=f.raw,
                    reason=f"Unreadable Expedia booking: {f.reason}",
                    partner_reservation_id=f.booking_id,
                )
                for f in answer.failures
            ),
            more=len(answer.bookings) + len(answer.failures) >= codec.BOOKINGS_PER_RETRIEVAL,
            warnings=tuple(warnings),
        )

    def acknowledge(self, ack: Acknowledgement) -> AckOutcome:
        """BC for each applied transaction, with Pema's confirmation number.

        Held transactions are not confirmed (Expedia has no rejection); each
        is reported back as refused with why, and so is any booking BC warns
        about, while the rest stand confirmed.
        """
        refused: list[tuple[str, str, str]] = [
            (r.partner_reservation_id, r.revision, f"Left unconfirmed at Expedia: {why}")
            for r, why in ack.rejected
        ]
        confirmations, keys = [], {}
        now = datetime.now(UTC)
        for inbound in ack.applied:
            number = ack.confirmation_numbers.get(inbound.partner_reservation_id, "")
            booking_id, booking_type = codec.read_ack_token(inbound.ack_token)
            if not number:
                refused.append(
                    (inbound.partner_reservation_id, inbound.revision, "No Pema reservation.")
                )
                continue
            confirmations.append(codec.Confirmation(booking_id, booking_type, number, now))
            keys[(booking_id, booking_type)] = inbound
        if confirmations:
            body = codec.build_bc_request(confirmations, **self._auth())
            answer = self.exchange(
                codec.BC_PATH,
                body,
                codec.parse_bc_response,
                items=len(confirmations),
                check=_check_bc,
            )
            for warning in answer.warnings:
                inbound = keys.get((warning.booking_id, warning.booking_type))
                if inbound is None and len(keys) == 1:
                    inbound = next(iter(keys.values()))
                if inbound is not None:
                    refused.append((inbound.partner_reservation_id, inbound.revision, str(warning)))
        return AckOutcome(refused=tuple(refused))


def _check_br(answer: codec.BrResponse) -> str:
    if answer.errors:
        if any(e.code in AUTH_ERRORS for e in answer.errors):
            raise Unauthorised("; ".join(map(str, answer.errors)))
        transient = all(e.code in codec.TRANSIENT_ERRORS for e in answer.errors)
        raise (TransientError if transient else PermanentError)(
            "Expedia: " + "; ".join(map(str, answer.errors))
        )
    if answer.failures:
        return f"{len(answer.failures)} bookings could not be read (held)."
    return ""


def _check_bc(answer: codec.BcResponse) -> str:
    if answer.errors:
        transient = all(e.code in codec.TRANSIENT_ERRORS for e in answer.errors)
        raise (TransientError if transient else PermanentError)(
            "Expedia refused the confirmations: " + "; ".join(map(str, answer.errors))
        )
    return "; ".join(f"Expedia warning {w}" for w in answer.warnings)
