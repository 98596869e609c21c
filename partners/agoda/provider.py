"""The Agoda provider: ARI pushed (SetAriV2), bookings pulled, BookingHint pushes answered.

It speaks through :mod:`partners.agoda.codec` and sends through
:meth:`Provider.exchange`, which writes one ``SyncLog`` per call with Agoda's
``TUID`` as its correlation id.

- **ARI.** :meth:`push_availability` and :meth:`push_rates` take the engine's
  typed items, already mapped to Agoda's room and rate plan ids, and send one
  SetAriV2 document (type 10) per 1 MB, days past Agoda's 730 left out.
- **Answers.** 200 is success. 400 (or a 207 with the full-failure body) is a
  failure of the whole document: permanent, unless every error is one that may
  pass (:attr:`codec.AgodaError.retryable`). 207 ``PartialSuccess`` names the
  failed updates: they are recorded on the job (``failed_updates``) and in
  the sync log; when some may pass, :class:`PartiallyApplied` narrows the job
  to those and the engine retries only them.
- **Bookings.** :meth:`pull_reservations` lists the bookings Agoda changed in
  the last ``lookback_hours`` (GetBookingList, type 3, windows of at most 90
  days) and reads the details (GetBookingDetail, type 4, 50 a call) of those
  whose revision Pema does not hold yet. Agoda has no acknowledgement call, so
  nothing is acknowledged. A ``BookingHint`` push (``/hooks/<uuid>/?token=``)
  names bookings; :meth:`webhook_hints` returns them and the engine fetches
  their details at once (:meth:`fetch_hinted_reservations`); the answer is
  ``<result><success/></result>``.
- **Auth**, per connection (setting ``auth``): ``api_key`` (``?apiKey=`` on
  every call; Agoda ends API keys with 2026) or ``token`` (the exchange's 1 h
  token, cached per connection and credentials, sent as ``Authorization:
  Bearer``; the notes do not name the header).

Credentials: ``property_id``, and ``api_key`` or ``client_id`` and
``client_secret``; ``hint_token`` to accept BookingHint pushes.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from channels.inbound import stored_revisions
from channels.interface import (
    AriItem,
    AvailabilityItem,
    Capabilities,
    DeliveryResult,
    InboundReservation,
    PullResult,
    RateItem,
    RestrictionItem,
    UnreadableMessage,
    WebhookReply,
    WebhookRequest,
)
from channels.providers.base import (
    PartiallyApplied,
    PermanentError,
    Provider,
    TransientError,
    WebhookRefused,
)
from pema.http_auth import Auth, BearerTokenAuth, QueryKeyAuth, fingerprint, json_token_exchange

from . import codec

AUTH_MODES = ("api_key", "token")
DEFAULT_LOOKBACK_HOURS = 48
DEFAULT_PULL_INTERVAL = 120
TUID = re.compile(rb'TUID="([^"]{1,64})"')
KEY_IN_URL = re.compile(r"(apiKey=)[^&\s'\"]+")


def check_ari_answer(answer: codec.AgodaResult) -> str:
    """Raise for a failed document (400, or 207 without PartialSuccess); else the warnings."""
    if answer.errors and not answer.partial:
        transient = all(e.retryable for e in answer.errors)
        raise (TransientError if transient else PermanentError)(
            f"Agoda refused the update: {answer.summary()}"
        )
    if answer.partial:
        return f"Agoda applied part of it (PartialSuccess); failed: {answer.summary()}"
    return ""


class AgodaProvider(Provider):
    """Agoda YCS5: SetAriV2 out, bookings pulled, BookingHint in."""

    key = "agoda"
    label = "Agoda (OTA, YCS5 API)"
    credential_fields: ClassVar[dict[str, str]] = {
        "property_id": "Agoda property id",
        # The admin shows one field per credential name: the same key as IDS Next's, neutrally.
        "api_key": "API key",
        "client_id": "OAuth client id (auth token)",
        "client_secret": "OAuth client secret (auth token)",
        "hint_token": "Token Agoda's BookingHint URL carries (?token=)",
    }
    optional_settings: ClassVar[dict[str, str]] = {
        "auth": "api_key (default when an API key is stored) or token (the token exchange)",
        "token_url": "The token exchange (default: base URL + " + codec.TOKEN_PATH + ")",
        "horizon_days": f"Days ahead ARI is sent (at most and default {codec.HORIZON_DAYS})",
        "lookback_hours": f"Hours of changes each pull lists (default {DEFAULT_LOOKBACK_HOURS})",
        "pull_interval_seconds": f"Seconds between pulls (default {DEFAULT_PULL_INTERVAL})",
        "ari_endpoint": "api (default: /api with type 10) or v2 (/api/v2/ari)",
    }
    content_type = codec.CONTENT_TYPE
    limit_nets_reservations = True
    reads_error_answers = True

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self._message_id = ""

    # ------------------------------------------------------------------ settings
    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        if not isinstance(values, dict):
            return ["The settings must be a JSON object."]
        errors = [
            f"Unknown setting {name!r}." for name in values if name not in cls.optional_settings
        ]
        if values.get("auth", "api_key") not in AUTH_MODES:
            errors.append("auth must be api_key or token.")
        if values.get("ari_endpoint", "api") not in ("api", "v2"):
            errors.append("ari_endpoint must be api or v2.")
        limits = (
            ("horizon_days", codec.HORIZON_DAYS),
            ("lookback_hours", codec.LOOKBACK_DAYS * 24),
            ("pull_interval_seconds", 3600),
        )
        for name, top in limits:
            if name in values:
                value = values[name]
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                    errors.append(f"{name} must be a whole number from 1 to {top}.")
        url = values.get("token_url")
        if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
            errors.append("token_url must be an http(s) URL.")
        return errors

    @classmethod
    def validate_credentials(cls, values: dict) -> list[str]:
        """``property_id``, and an API key or a client id and secret (or both)."""
        if not isinstance(values, dict):
            return ["The credentials must be a JSON object."]
        errors = [
            f"Unknown credential {name!r}." for name in values if name not in cls.credential_fields
        ]
        text = {k: v.strip() for k, v in values.items() if isinstance(v, str) and v.strip()}
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", text.get("property_id", "")):
            errors.append(
                "The credential 'property_id' (Agoda property id, 1 to 20 characters) is required."
            )
        has_key = "api_key" in text
        has_client = "client_id" in text and "client_secret" in text
        if not has_key and not has_client:
            errors.append(
                "The credential 'api_key', or 'client_id' and 'client_secret' (the token "
                "exchange), is required."
            )
        elif not has_key and ("client_id" in text) != ("client_secret" in text):
            missing = "client_secret" if "client_id" in text else "client_id"
            errors.append(f"The credential {missing!r} is required with the other.")
        return errors

    @property
    def _settings(self) -> dict:
        return self.connection.settings or {}

    @property
    def _credentials(self) -> dict:
        return self.connection.credentials or {}

    @property
    def property_id(self) -> str:
        return self._credentials.get("property_id", "")

    @property
    def auth_mode(self) -> str:
        mode = self._settings.get("auth")
        if mode in AUTH_MODES:
            return mode
        return "api_key" if self._credentials.get("api_key") else "token"

    @property
    def horizon_days(self) -> int:
        return int(self._settings.get("horizon_days") or codec.HORIZON_DAYS)

    @property
    def lookback(self) -> timedelta:
        return timedelta(hours=int(self._settings.get("lookback_hours") or DEFAULT_LOOKBACK_HOURS))

    def capabilities(self) -> Capabilities:
        return codec.capabilities(
            horizon_days=self.horizon_days,
            pull_interval_seconds=int(
                self._settings.get("pull_interval_seconds") or DEFAULT_PULL_INTERVAL
            ),
        )

    # ------------------------------------------------------------------ transport
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": codec.CONTENT_TYPE}
        if self._message_id:
            # Agoda's request has no echo field: the job's id rides along for the logs.
            headers["X-Pema-Message-Id"] = self._message_id
        return headers

    def auth(self) -> Auth:
        creds = self._credentials
        if self.auth_mode == "api_key":
            return QueryKeyAuth("apiKey", creds.get("api_key", ""))
        token_url = self._settings.get("token_url") or self.url_for(codec.TOKEN_PATH)
        client_id, secret = creds.get("client_id", ""), creds.get("client_secret", "")

        def read(data: object) -> str:
            try:
                return codec.token_answer(data)
            except codec.AgodaCodecError as exc:
                raise ValueError(str(exc)) from None

        return BearerTokenAuth(
            json_token_exchange(
                token_url,
                codec.token_request(client_id, secret),
                read_token=read,
                lifetime=codec.TOKEN_SECONDS,
            ),
            cache_key=f"agoda:{self.connection.pk}:{fingerprint(token_url, client_id, secret)}",
        )

    def redact_text(self, text: str) -> str:
        return KEY_IN_URL.sub(r"\1***", text)

    def url_for(self, operation: str) -> str:
        return f"{self.connection.base_url.rstrip('/')}/{operation.lstrip('/')}"

    def response_reference(self, answer: bytes) -> str:
        match = TUID.search(answer[:2048])
        return match.group(1).decode("ascii", "replace") if match else ""

    def _call(self, operation: str, body: bytes, parse, *, items: int = 0, check=None, path=None):
        return self.exchange(
            operation,
            body,
            parse,
            items=items,
            correlation_id=self._message_id,
            check=check,
            url=self.url_for(path or codec.API_PATH),
        )

    # ------------------------------------------------------------------ ARI
    def test_connection(self) -> str:
        """A GetBookingList of the last day (reading changes nothing at Agoda)."""
        now = datetime.now(UTC)
        heads = self._list(now - timedelta(days=1), now)
        return (
            f"Agoda accepted the {self.auth_mode.replace('_', ' ')} for property "
            f"{self.property_id} ({len(heads)} bookings changed in the last day)."
        )

    def push_availability(
        self, items: Sequence[AvailabilityItem | RestrictionItem], *, message_id: str
    ) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def push_rates(self, items: Sequence[RateItem], *, message_id: str) -> DeliveryResult:
        return self._push_ari(items, message_id)

    def _push_ari(self, items: Sequence[AriItem], message_id: str) -> DeliveryResult:
        try:
            documents = codec.build_set_ari(
                list(items),
                property_id=self.property_id,
                currency=self.connection.hotel.currency,
                today=codec.agoda_today(),
                horizon_days=self.horizon_days,
            )
        except codec.AgodaCodecError as exc:
            raise PermanentError(f"Cannot be sent to Agoda: {exc}") from exc
        if not documents:
            return DeliveryResult(skipped=f"All of it lies past Agoda's {codec.HORIZON_DAYS} days.")
        path = codec.ARI_V2_PATH if self._settings.get("ari_endpoint") == "v2" else codec.API_PATH
        failed: list[str] = []
        retry: list[AriItem] = []
        self._message_id = message_id
        try:
            for document in documents:
                answer = self._call(
                    codec.REQUEST_TYPES[codec.SET_ARI_V2],
                    document.body,
                    codec.parse_result,
                    items=document.updates,
                    check=check_ari_answer,
                    path=path,
                )
                if not answer.partial:
                    continue
                failed += [str(error) for error in answer.errors]
                passing = [e for e in answer.errors if e.retryable]
                if any(not e.attributed for e in passing):
                    retry += list(document.items)  # Agoda did not say which: all of it again
                else:
                    retry += codec.failed_items(document, passing)
        finally:
            self._message_id = ""
        if retry:
            raise PartiallyApplied(
                f"Agoda applied part of the update; {len(retry)} refused updates may pass "
                f"later and are sent again: {'; '.join(failed)}",
                retry_items=list(dict.fromkeys(retry)),
                failed=failed,
            )
        return DeliveryResult(
            warnings=tuple(f"Agoda refused: {text}" for text in failed),
            messages=sum(d.updates for d in documents),
            failed_updates=tuple(failed),
        )

    # ------------------------------------------------------------------ bookings
    def _list(self, start: datetime, end: datetime) -> list[codec.BookingHead]:
        heads: list[codec.BookingHead] = []
        for first, last in codec.list_windows(start, end):
            heads += self._call(
                codec.REQUEST_TYPES[codec.GET_BOOKING_LIST],
                codec.build_booking_list([self.property_id], first, last),
                codec.parse_booking_list,
            )
        return [h for h in heads if h.property_id in ("", self.property_id)]

    def _details(self, booking_ids: Sequence[str]) -> PullResult:
        found: list[InboundReservation] = []
        unreadable: list[UnreadableMessage] = []
        ids = list(dict.fromkeys(booking_ids))
        for n in range(0, len(ids), codec.MAX_DETAIL_IDS):
            batch = ids[n : n + codec.MAX_DETAIL_IDS]
            bookings, failures = self._call(
                codec.REQUEST_TYPES[codec.GET_BOOKING_DETAIL],
                codec.build_booking_detail(self.property_id, batch),
                codec.parse_booking_detail,
                items=len(batch),
            )
            for booking in bookings:
                try:
                    found.append(booking.to_inbound())
                except (codec.AgodaCodecError, ValueError) as exc:
                    unreadable.append(
                        self._unreadable(booking.raw, str(exc), booking.head.booking_id)
                    )
            unreadable += [self._unreadable(f.raw, f.reason, f.booking_id) for f in failures]
        return PullResult(reservations=tuple(found), unreadable=tuple(unreadable))

    @staticmethod
    def _unreadable(raw: bytes, reason: str, booking_id: str) -> UnreadableMessage:
        return UnreadableMessage(
            raw=raw, reason=f"Unreadable Agoda booking: {reason}", partner_reservation_id=booking_id
        )

    def _new_heads(self, heads: Sequence[codec.BookingHead]) -> list[str]:
        """The ids of the heads whose revision Pema does not hold yet."""
        held = stored_revisions(self.connection, {h.booking_id for h in heads})
        return [h.booking_id for h in heads if (h.booking_id, h.revision) not in held]

    def pull_reservations(self) -> PullResult:
        """The bookings changed in the look-back window that Pema does not hold yet."""
        now = datetime.now(UTC)
        wanted = self._new_heads(self._list(now - self.lookback, now))
        return self._details(wanted) if wanted else PullResult()

    def fetch_hinted_reservations(self, partner_reservation_ids: Sequence[str]) -> PullResult:
        return self._details(partner_reservation_ids)

    def verify_webhook(self, request: WebhookRequest) -> None:
        """A hint carries the connection's ``hint_token`` in its query (``?token=``)."""
        expected = self._credentials.get("hint_token", "")
        given = request.query.get("token", "")
        if not expected:
            raise WebhookRefused("BookingHint is not set up on this connection (no hint_token).")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRefused("The BookingHint's token is wrong or missing.")

    def webhook_hints(self, request: WebhookRequest) -> tuple[str, ...]:
        try:
            heads = codec.parse_hint(request.body)
        except (codec.AgodaCodecError, ValueError) as exc:
            raise ValueError(f"Not a BookingHint: {exc}") from exc
        mine = [h for h in heads if h.property_id in ("", self.property_id)]
        return tuple(self._new_heads(mine))

    def webhook_reply(self, received: int) -> WebhookReply:
        return WebhookReply(body=codec.build_hint_reply(), content_type="text/xml; charset=utf-8")
