"""The base class of every provider: it owns HTTP, error classification and logging.

A provider turns Pema's generic work (test the connection, ask about a stay,
push ARI or a reservation, pull and acknowledge) into its partner's wire
format. Its operations take and return the values of ``channels/interface.py``;
the engine (``channels/outbound.py``, the inbound pipeline) reads and writes
the database around them. It sends through
:meth:`Provider.exchange`, which posts with timeouts via ``pema/http.py``,
classifies failures and writes one ``SyncLog`` per call. A provider's
credentials go through its :meth:`Provider.auth` hook (``pema/http_auth.py``),
not its headers, so they are added on the wire only; the log keeps bodies:

- ``TransientError`` (retry later): connection errors, timeouts, HTTP 5xx,
  HTTP 429 (honouring ``Retry-After``), partner errors the partner itself
  calls temporary, and answers that cannot be read (truncated, malformed,
  not the expected document): the partner may well have applied the message,
  so it is sent again under the same EchoToken, which the partner's
  idempotency turns into "already done";
- ``PermanentError`` (retrying cannot help): any other 4xx, refused
  credentials, business-rule errors, and answers refused as unsafe (a DTD or
  entities, over the size cap), which are never processed.

``SyncError``, ``TransientError`` and ``PermanentError`` are the outbox's own
(``pema/outbox.py``, shared with the webhooks); partners import them from here.

The ``SyncLog`` row is written after the outcome is known and can never change
it: the copies it keeps are decoded as the partner encoded them (byte-order
mark, XML declaration) and NUL characters, which PostgreSQL text cannot hold,
are written as ``\x00``; and should the row still fail to insert, the failure
is logged and the call's outcome stands. A reservation the partner accepted is
never sent again because its log row could not be written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar, TypeVar

from django.db import DatabaseError, transaction

from pema import http
from pema.http_auth import Auth, TokenError, TokenRefused
from pema.outbox import PermanentError, SyncError, TransientError, retry_after_seconds
from pema.xml import UnsafeXMLError, decode_xml

if TYPE_CHECKING:
    from channels.interface import (
        Acknowledgement,
        AckOutcome,
        AvailabilityItem,
        AvailabilityQuery,
        CalendarExport,
        Capabilities,
        DeliveryResult,
        FetchWindow,
        HousekeepingStatus,
        InboundReservation,
        PmsGuest,
        PmsRoom,
        PullResult,
        RateItem,
        ReservationMessage,
        RestrictionItem,
        WebhookReply,
        WebhookRequest,
    )
    from channels.models import Connection, SyncJob

T = TypeVar("T")
TRIM = 4000
logger = logging.getLogger(__name__)


class Unauthorised(PermanentError):
    """The partner refused our credentials or this account's access (HTTP 401/403)."""


class PullAgain(TransientError):
    """Pulled messages changed at the partner since they were read: read them again
    before acknowledging (Booking.com's 409)."""


class PartiallyApplied(TransientError):
    """The partner applied part of a document and refused updates that may pass later.

    ``retry_items`` are those updates (of the items the provider was handed):
    the engine narrows the job to them and retries it. ``failed`` describes
    every update refused, the permanent ones too, for the job's record.
    """

    def __init__(
        self, message: str, *, retry_items: Sequence = (), failed: Sequence[str] = (), **kwargs
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_items = tuple(retry_items)
        self.failed = tuple(failed)


class BadResponse(SyncError):
    """The answer was not trusted: unsafe, malformed, or not the document expected."""


class UnreadableResponse(BadResponse, TransientError):
    """The answer could not be read (truncated, malformed, another document): send again."""


class UnsafeResponse(BadResponse, PermanentError):
    """The answer was refused on security grounds (DTD, entities, size)."""


class NotSupported(PermanentError):
    """The provider does not offer this operation (e.g. it takes no webhooks)."""


class WebhookRefused(PermanentError):
    """A push failed verification: bad signature or token, or outside the replay window."""


def loggable(data: bytes | str, limit: int = TRIM) -> str:
    """``data`` as text a database column can hold: decoded, NUL-free, at most ``limit`` long."""
    text = decode_xml(data) if isinstance(data, bytes) else data
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more]"
    return text.replace("\x00", "\\x00")


def redact_secrets(credentials: object, text: str) -> str:
    """``text`` with none of the credential values in it (strings of 4 characters or more).

    A partner's error, an HTTP client's message quoting a URL, or a request body that
    carries the password (IDS Next's POS, Expedia's ``Authentication``) would otherwise
    put a secret into the sync log or an API answer.
    """
    values = credentials.values() if isinstance(credentials, dict) else ()
    for secret in sorted((v for v in values if isinstance(v, str)), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class Provider:
    """One external system's protocol; subclasses implement the operations they support."""

    key: ClassVar[str] = ""
    #: What staff see in the provider list (``Connection.provider``'s choices).
    label: ClassVar[str] = ""
    #: Required keys of ``Connection.settings`` -> what they mean.
    settings_fields: ClassVar[dict[str, str]] = {}
    #: Required keys of ``Connection.credentials`` -> what they mean (shown as write-only fields).
    credential_fields: ClassVar[dict[str, str]] = {}
    content_type: ClassVar[str] = "application/json"
    #: True: the rooms-to-sell limit sent is net of reservations (a channel). False: the
    #: partner holds every reservation and subtracts them itself (a PMS).
    limit_nets_reservations: ClassVar[bool] = True
    #: True: a 4xx answer's body is read too (``parse`` and ``check``), because the
    #: partner explains its refusals there (Booking.com answers ``Errors`` with 400);
    #: ``check`` then decides whether it is transient or permanent.
    reads_error_answers: ClassVar[bool] = False
    #: Seconds a partner wants between an acknowledgement and the next pull.
    wait_after_ack_seconds: ClassVar[float] = 0.0
    #: Pulled messages left unacknowledged for longer are shown in red on the health
    #: page (the partner has a deadline, e.g. Expedia's); None: no such alert.
    ack_alert_seconds: ClassVar[int | None] = None

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._job: SyncJob | None = None

    def _redacted(self, text: str) -> str:
        """``text`` fit for the sync log: the connection's credentials taken out."""
        try:
            credentials = self.connection.credentials
        except Exception:  # noqa: BLE001 - undecryptable credentials cannot be echoed either
            return text
        return redact_secrets(credentials, text)

    @contextmanager
    def sending(self, job: SyncJob) -> Iterator[None]:
        """Within: every call :meth:`exchange` logs is this job's (the engine binds the
        job it is sending, so an operation needs no ``SyncJob`` of its own)."""
        self._job = job
        try:
            yield
        finally:
            self._job = None

    # ------------------------------------------------------------------ validation
    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        return cls._validate(values, cls.settings_fields, "setting")

    @classmethod
    def validate_credentials(cls, values: dict) -> list[str]:
        return cls._validate(values, cls.credential_fields, "credential")

    @staticmethod
    def _validate(values: dict, fields: dict[str, str], what: str) -> list[str]:
        if not isinstance(values, dict):
            return [f"The {what}s must be a JSON object."]
        errors = [
            f"The {what} {name!r} ({label}) is required."
            for name, label in fields.items()
            if not isinstance(values.get(name), str) or not values[name].strip()
        ]
        errors += [f"Unknown {what} {name!r}." for name in values if name not in fields]
        return errors

    def capabilities(self) -> Capabilities:
        """What the partner takes and how (the engine's defaults unless a provider says).

        The default follows :attr:`limit_nets_reservations` and takes no
        reservations; a provider that does (a PMS) says so in its own.
        """
        from channels.interface import Capabilities

        return Capabilities(nets_reservations=self.limit_nets_reservations)

    # ------------------------------------------------------------------ operations
    def pull_reservations(self) -> PullResult:
        """Read the reservation messages waiting at the partner (pull partners only)."""
        raise NotSupported(f"{type(self).__name__} has no reservations to pull.")

    # ------------------------------------------------------------------ PMS sync
    #: Which of bookings, rooms and guests this PMS can sync (``pms.sync`` says
    #: clearly that the others are not supported, rather than failing on a call).
    pms_entities: ClassVar[frozenset[str]] = frozenset()
    #: True: the PMS pushes its bookings (webhooks), so no schedule needs to fetch them.
    pushes_bookings: ClassVar[bool] = False

    def fetch_reservations(self, window: FetchWindow) -> Iterator[Sequence[InboundReservation]]:
        """The PMS's reservations changed since ``window.since``, a page at a time."""
        raise NotSupported(f"{type(self).__name__} has no reservations to fetch.")

    def fetch_rooms(self) -> Iterator[Sequence[PmsRoom]]:
        """The PMS's rooms with their housekeeping and occupancy, a page at a time."""
        raise NotSupported(f"{type(self).__name__} does not report rooms.")

    def fetch_guests(self, window: FetchWindow) -> Iterator[Sequence[PmsGuest]]:
        """The PMS's guest profiles changed since ``window.since``, a page at a time."""
        raise NotSupported(f"{type(self).__name__} does not report guest profiles.")

    def set_housekeeping(self, pms_room_id: str, status: HousekeepingStatus) -> None:
        """Set a room's housekeeping state in the PMS (raise NotSupported where it refuses)."""
        raise NotSupported(f"{type(self).__name__} takes no housekeeping changes.")

    def test_connection(self) -> str:
        """Check the partner answers and accepts our credentials; return a short summary."""
        raise NotSupported(f"{type(self).__name__} offers no connection test.")

    def check_availability(self, query: AvailabilityQuery) -> int:
        """Rooms the partner can sell for the stay (raise SyncError if it cannot say)."""
        raise NotSupported(f"{type(self).__name__} answers no availability questions.")

    def push_availability(
        self, items: Sequence[AvailabilityItem | RestrictionItem], *, message_id: str
    ) -> DeliveryResult:
        """Send rooms to sell and restrictions (already mapped to the partner's ids).

        ``message_id`` is the same on every retry of one job (an EchoToken).
        """
        raise NotSupported(f"{type(self).__name__} takes no availability.")

    def push_rates(self, items: Sequence[RateItem], *, message_id: str) -> DeliveryResult:
        """Send prices (already mapped to the partner's ids)."""
        raise NotSupported(f"{type(self).__name__} takes no rates.")

    def push_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        """Create the reservation at the partner, or modify it there once it has the
        partner's reference; the result's ``partner_references`` carry a new one."""
        raise NotSupported(f"{type(self).__name__} takes no reservations.")

    def cancel_reservation(
        self, reservation: ReservationMessage, *, message_id: str
    ) -> DeliveryResult:
        """Cancel the reservation at the partner."""
        raise NotSupported(f"{type(self).__name__} takes no reservations.")

    def verify_webhook(self, request: WebhookRequest) -> None:
        """Check a push is the partner's (token or HMAC, replay window); raise WebhookRefused."""
        raise NotSupported(f"{type(self).__name__} does not accept webhooks.")

    def parse_webhook(self, request: WebhookRequest) -> tuple[InboundReservation, ...]:
        """The reservation messages of a verified push (none for a ping)."""
        raise NotSupported(f"{type(self).__name__} does not accept webhooks.")

    def webhook_hints(self, request: WebhookRequest) -> tuple[str, ...]:
        """(Partners with ``reservation_hints``.) The partner reservation ids a verified
        push names as changed; their details are fetched at once."""
        raise NotSupported(f"{type(self).__name__} sends no reservation hints.")

    def fetch_hinted_reservations(self, partner_reservation_ids: Sequence[str]) -> PullResult:
        """(Partners with ``reservation_hints``.) Read these reservations now."""
        raise NotSupported(f"{type(self).__name__} sends no reservation hints.")

    def webhook_reply(self, received: int) -> WebhookReply | None:
        """The partner's own answer to an accepted push (None: Pema's JSON answer)."""
        return None

    def acknowledge(self, ack: Acknowledgement) -> AckOutcome | None:
        """Tell the partner which pulled messages are applied or rejected; raise SyncError.

        A partner that takes part of a batch returns an ``AckOutcome`` naming the rest.
        """
        raise NotSupported(f"{type(self).__name__} takes no acknowledgements.")

    def staff_notes(self) -> str:
        """What staff should know of this connection (its limits, addresses to give the
        partner), shown on its admin page; "" for none."""
        return ""

    def export_token(self, partner_room_id: str) -> str:
        """The secret a partner reading Pema's calendar of this room puts in its URL."""
        raise NotSupported(f"{type(self).__name__} reads no calendar from Pema.")

    def export_room(self, partner_room_id: str) -> str:
        """The number of the one room this partner room is ("": a whole room type)."""
        return ""

    def render_calendar(self, export: CalendarExport) -> tuple[bytes, str]:
        """Pema's calendar of one partner room as the partner reads it: (body, content type)."""
        raise NotSupported(f"{type(self).__name__} reads no calendar from Pema.")

    def ari_wire_messages(self, item: dict) -> int:
        """How many wire-level status messages one generic ARI item becomes."""
        return 1

    # ------------------------------------------------------------------ transport
    def headers(self) -> dict[str, str]:
        """Headers every call carries; credentials go in :meth:`auth`, which is never logged."""
        return {"Content-Type": self.content_type}

    def auth(self) -> Auth | None:
        """How the partner authorises a call (Basic, bearer token, signed headers), or None.

        A bearer token's cache is keyed by the connection and a fingerprint of
        its credentials (``pema.http_auth.fingerprint``).
        """
        return None

    def redact(self, body: bytes) -> bytes:
        """The request body as the sync log keeps it (a partner that puts credentials in
        the body, Mews, takes them out here)."""
        return body

    def redact_text(self, text: str) -> str:
        """``text`` without secrets, before it is logged (a key the partner wants in the
        URL appears in connection errors); as is by default."""
        return text

    def url_for(self, operation: str) -> str:
        return f"{self.connection.base_url.rstrip('/')}/{operation}"

    def response_reference(self, answer: bytes) -> str:
        """The partner's own id of the request, read from its answer ("" if none).

        When there is one it is the sync log's ``correlation_id``, so the call can
        be found by the id the partner's support asks for.
        """
        return ""

    def _reference(self, answer: bytes) -> str:
        try:
            return self.response_reference(answer) if answer else ""
        except Exception:  # noqa: BLE001 - the log's reference must never change the outcome
            return ""

    @staticmethod
    def _check_error_answer(body: bytes, parse: Callable[[bytes], T], check) -> None:
        """Let ``check`` classify a 4xx answer the partner explained (it raises)."""
        if not body:
            return
        try:
            parsed = parse(body)
        except Exception:  # noqa: BLE001 - unreadable: the HTTP status alone decides
            return
        check(parsed)

    def exchange(
        self,
        operation: str,
        body: bytes,
        parse: Callable[[bytes], T],
        *,
        job: SyncJob | None = None,
        items: int = 0,
        correlation_id: str = "",
        check: Callable[[T], str] | None = None,
        method: str = "POST",
        url: str | None = None,
        params: dict[str, str] | None = None,
        max_bytes: int = http.MAX_BYTES,
    ) -> T:
        """Send ``body`` (POST, unless ``method`` says), parse the answer with ``parse``
        and log the call.

        ``url`` defaults to :meth:`url_for` of ``operation``; ``params`` is the query;
        an answer past ``max_bytes`` arrives cut at ``max_bytes + 1`` (``parse`` tells).
        ``check`` inspects the parsed answer: it raises ``SyncError`` for a
        partner-level error and returns warning text (or "") on success.
        """
        from channels.models import SyncLog

        started = time.monotonic()
        status = SyncLog.Status.ERROR
        http_status: int | None = None
        answer = b""
        error = ""
        try:
            try:
                response = http.request(
                    method,
                    url or self.url_for(operation),
                    body if method != "GET" else None,
                    params=params,
                    headers=self.headers(),
                    auth=self.auth(),
                    max_bytes=max_bytes,
                )
            except TokenRefused as exc:
                raise Unauthorised(
                    f"{exc} The connection is unauthorised until they are fixed.",
                    http_status=exc.http_status,
                ) from exc
            except TokenError as exc:
                raise TransientError(
                    f"Could not get an access token: {exc}", unreachable=True
                ) from exc
            except http.Timeout as exc:
                raise TransientError(
                    self.redact_text(f"Timed out: {exc}"), unreachable=True
                ) from exc
            except http.RequestException as exc:
                raise TransientError(
                    self.redact_text(f"Could not connect: {exc}"), unreachable=True
                ) from exc
            http_status, answer = response.status, response.body
            if response.status == 429 or response.status >= 500:
                raise TransientError(
                    f"HTTP {response.status} from the partner.",
                    http_status=response.status,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    unreachable=True,
                )
            if response.status in (401, 403):
                raise Unauthorised(
                    f"HTTP {response.status} from the partner: it refuses these credentials "
                    "or this account's access. The connection is unauthorised until they are "
                    "fixed.",
                    http_status=response.status,
                )
            if response.status >= 400:
                if self.reads_error_answers and check is not None:
                    self._check_error_answer(response.body, parse, check)
                raise PermanentError(
                    f"HTTP {response.status} from the partner.", http_status=response.status
                )
            if response.status >= 300:
                where = response.headers.get("Location", "")
                raise PermanentError(
                    f"Unexpected HTTP {response.status}"
                    + (f" (a redirect to {where[:200]}, not followed)." if where else "."),
                    http_status=response.status,
                )
            try:
                parsed = parse(response.body)
            except SyncError:
                raise
            except UnsafeXMLError as exc:
                raise UnsafeResponse(f"Unsafe answer refused: {exc}") from exc
            except Exception as exc:  # noqa: BLE001 - any parse failure means "do not trust it"
                raise UnreadableResponse(
                    f"Unreadable answer ({type(exc).__name__}): {exc}"
                ) from exc
            warning = check(parsed) if check else ""
            status = SyncLog.Status.WARNING if warning else SyncLog.Status.SUCCESS
            error = warning
            return parsed
        except SyncError as exc:
            exc.http_status = exc.http_status or http_status
            error = exc.message
            raise
        finally:
            reference = self._reference(answer)
            log = SyncLog(
                connection=self.connection,
                job=job or self._job,
                operation=operation,
                status=status,
                items=items,
                duration_ms=int((time.monotonic() - started) * 1000),
                http_status=http_status,
                request=self._redacted(loggable(self.redact(body))),
                response=self._redacted(loggable(answer)),
                error=self._redacted(loggable(error, 2000)),
                correlation_id=(reference or correlation_id)[:64],
            )
            try:
                # A savepoint: a failed insert must not spoil the caller's transaction either.
                with transaction.atomic():
                    log.save()
            except DatabaseError:
                logger.exception(
                    "Could not write the sync log of %s (%s, %s); the outcome stands.",
                    operation,
                    status,
                    correlation_id,
                )
