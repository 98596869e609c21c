"""What an operator does to one connection, for the commands, the API and the admin alike.

- :func:`select_connections`: the connections a command or caller names (by
  id, provider or hotel), with a readable :class:`OperationError` for an
  unknown hotel, provider or connection, or when nothing matches;
- :func:`sync`: dispatch the pending changes now, then deliver them inline
  (a command) or wake a worker (the API); with ``full``, the whole calendar
  is queued first (:func:`full_sync`);
- :func:`full_sync`: queue the whole calendar (``dispatch.plan_full_sync``);
- :func:`pull_now`: one pull of a pull connection (``pull.pull_connection``);
- :func:`test_connection`: the provider's probe, as an outcome, never a raise;
- :func:`reconcile`: what has not reached the partner is queued again
  (reservations with no partner reference, or with a pending or dead job),
  for any connection whose provider takes reservations, and a pull
  connection is pulled as well;
- :func:`health`: the health summary of connections (``health.connection_health``).

Each refuses what does not apply to the connection (a pull of a push-only
connection, a full sync of one that sends no ARI, anything but a test on a
disabled one) with an :class:`OperationError` whose ``code`` the API answers
with and whose message a command prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bookings.models import Hotel, Reservation

from .delivery import deliver, retry_job
from .dispatch import dispatch, plan_full_sync, reservation_stream
from .health import ConnectionHealth, connection_health
from .models import Connection, SyncJob
from .providers import registry
from .providers.base import SyncError, Unauthorised, redact_secrets
from .pull import PullReport, pull_connection

# Delivery rounds of an inline sync: each round is one lease of the connection.
INLINE_BUDGET_SECONDS = 600


class OperationError(Exception):
    """What was asked does not apply: ``code`` says why for machines, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NothingSelected(OperationError):
    """No connection is known by what was named, or none of them matches."""


class NotSupported(OperationError):
    """The connection's provider (or its settings) does not offer the operation."""


class ConnectionBusy(OperationError):
    """Another worker holds the connection's lease just now."""


# ------------------------------------------------------------------ capabilities


def pulls_reservations(connection: Connection) -> bool:
    """Whether the partner keeps reservations for Pema to pull (it says how often)."""
    return bool(connection.get_provider().capabilities().pull_interval_seconds)


def exports_reservations(connection: Connection) -> bool:
    """Whether Pema sends this connection its reservations: the provider takes them
    (``Capabilities.exports_reservations``) and the connection is set to send them."""
    return (
        connection.export_reservations
        and connection.get_provider().capabilities().exports_reservations
    )


def redact(connection: Connection, text: str) -> str:
    """``text`` with none of the connection's credentials in it: a partner's error, or an
    HTTP client's message quoting a URL, may echo one back."""
    try:
        credentials = connection.credentials or {}
    except Exception:  # noqa: BLE001 - undecryptable credentials cannot be echoed either
        return text
    return redact_secrets(credentials, text)


def _require_enabled(connection: Connection, what: str) -> None:
    _require_provider(connection)
    if not connection.enabled:
        raise OperationError(
            "connection_disabled",
            f"Connection #{connection.pk} ({connection.name}) is disabled: enable it to {what}.",
        )


def _require_provider(connection: Connection) -> None:
    if connection.provider not in registry():
        raise NotSupported(
            "not_supported",
            f"Connection #{connection.pk} ({connection.name}) uses the provider "
            f"{connection.provider!r}, which is not registered (PEMA_PROVIDERS).",
        )


# ------------------------------------------------------------------ selection


def select_connections(
    *,
    connection_id: int | None = None,
    provider: str | None = None,
    hotel: str | None = None,
    enabled_only: bool = True,
) -> list[Connection]:
    """The connections named (all of them when nothing is), in hotel and name order.

    An unknown hotel, provider or connection id, a disabled connection asked
    for by id, or no connection left after the filters is a
    :class:`NothingSelected` saying which.
    """
    if connection_id is not None and provider is not None:
        raise NothingSelected("invalid_selection", "Name a connection or a provider, not both.")
    conns = Connection.objects.select_related("hotel")
    if hotel is not None:
        if not Hotel.objects.filter(code=hotel).exists():
            raise NothingSelected("hotel_not_found", f"Unknown hotel code {hotel!r}.")
        conns = conns.filter(hotel__code=hotel)
    if provider is not None:
        if provider not in registry():
            raise NothingSelected(
                "provider_not_found",
                f"Unknown provider {provider!r}; known: {', '.join(registry())}.",
            )
        conns = conns.filter(provider=provider)
    if connection_id is not None:
        found = conns.filter(pk=connection_id).first()
        if found is None:
            where = f" at hotel {hotel}" if hotel is not None else ""
            raise NothingSelected("connection_not_found", f"No connection #{connection_id}{where}.")
        if enabled_only and not found.enabled:
            raise NothingSelected(
                "connection_disabled", f"Connection #{connection_id} ({found.name}) is disabled."
            )
        return [found]
    if enabled_only:
        conns = conns.filter(enabled=True)
    found = list(conns.order_by("hotel__code", "name", "pk"))
    if not found:
        named = [
            f"provider {provider}" if provider else "",
            f"hotel {hotel}" if hotel else "",
        ]
        scope = " and ".join(n for n in named if n)
        raise NothingSelected(
            "no_connection",
            f"No {'enabled ' if enabled_only else ''}connection"
            + (f" for {scope}" if scope else "")
            + " (see ensure_connection).",
        )
    return found


# ------------------------------------------------------------------ sync


@dataclass
class SyncReport:
    """What a sync of one connection queued, and (inline) what it delivered."""

    connection_id: int
    events: int = 0
    jobs: int = 0
    full_sync_jobs: int = 0
    delivered_rounds: list[int] = field(default_factory=list)
    failed: int = 0
    dead: int = 0
    pending: int = 0
    delivery_queued: bool = False

    @property
    def queued(self) -> int:
        """Jobs queued by this sync: the events' and the full sync's."""
        return self.jobs + self.full_sync_jobs

    @property
    def delivered(self) -> int:
        return sum(self.delivered_rounds)


def _wake_delivery(connection: Connection) -> bool:
    # Imported here: the tasks module imports the engine modules this one stands beside.
    from .tasks import deliver_connection, enqueue

    return enqueue(deliver_connection, connection.pk)


def _pending(connection: Connection) -> int:
    return SyncJob.objects.filter(connection=connection, status=SyncJob.Status.PENDING).count()


ProgressFactory = Callable[[str, int], Callable[[int], None]]


def sync(
    connection: Connection,
    *,
    full: bool = False,
    inline: bool = False,
    progress: ProgressFactory | None = None,
) -> SyncReport:
    """Turn the connection's pending changes into jobs now and send them.

    ``inline`` delivers here, round after round, until nothing more goes out
    (a command); otherwise a worker is woken to deliver (the API). ``full``
    queues the whole calendar first. ``progress`` (inline only) hears the jobs
    to send, then the jobs each round delivered (the admin's progress bar).
    """
    _require_enabled(connection, "sync it")
    if full and not connection.push_ari:
        raise NotSupported(
            "not_supported",
            f"Connection #{connection.pk} ({connection.name}) sends no ARI: no full sync.",
        )
    report = SyncReport(connection.pk)
    dispatched = dispatch(connection)
    report.events, report.jobs = dispatched.events, dispatched.jobs
    if full:
        report.full_sync_jobs = plan_full_sync(connection)
    if inline:
        step = progress("Sending", _pending(connection)) if progress else None
        while True:
            result = deliver(connection.pk, budget_seconds=INLINE_BUDGET_SECONDS)
            report.failed += result.failed
            report.dead += result.dead
            if step:
                step(result.delivered + result.dead)
            if not result.claimed or not result.delivered:
                break
            report.delivered_rounds.append(result.delivered)
    else:
        report.delivery_queued = _wake_delivery(connection)
    report.pending = _pending(connection)
    return report


def full_sync(
    connection: Connection, *, inline: bool = False, progress: ProgressFactory | None = None
) -> SyncReport:
    """Queue the whole calendar for the connection (and the changes pending) and send it."""
    return sync(connection, full=True, inline=inline, progress=progress)


# ------------------------------------------------------------------ pull


def pull_now(connection: Connection) -> PullReport:
    """One pull of the connection now: read, store, apply, then acknowledge.

    A push-only connection is a :class:`NotSupported`; a pull another worker
    is running is a :class:`ConnectionBusy`. A partner that could not be read
    is in the report's ``error``.
    """
    _require_enabled(connection, "pull it")
    if not pulls_reservations(connection):
        raise NotSupported(
            "not_supported",
            f"Connection #{connection.pk} ({connection.name}) pulls no reservations: "
            "its partner pushes them, or sends none.",
        )
    report = pull_connection(connection.pk)
    report.error = redact(connection, report.error)
    if not report.claimed:
        raise ConnectionBusy(
            "connection_busy",
            f"Connection #{connection.pk} is busy (another worker holds it); try again shortly.",
        )
    return report


# ------------------------------------------------------------------ test


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of the provider's ``test_connection``."""

    ok: bool
    message: str
    http_status: int | None = None
    unauthorised: bool = False


def test_connection(connection: Connection) -> ProbeResult:
    """Ask the partner whether it answers and accepts our credentials (logged as any call)."""
    try:
        _require_provider(connection)
        message = connection.get_provider().test_connection()
    except NotSupported as exc:
        return ProbeResult(ok=False, message=exc.message)
    except SyncError as exc:
        return ProbeResult(
            ok=False,
            message=redact(connection, exc.message),
            http_status=exc.http_status,
            unauthorised=isinstance(exc, Unauthorised),
        )
    return ProbeResult(ok=True, message=redact(connection, message))


# Not a test for pytest to collect when a test module imports it.
test_connection.__test__ = False


# ------------------------------------------------------------------ reconcile


@dataclass
class ReconcileReport:
    """What reconciling one connection found out of step, and what was queued again."""

    connection_id: int
    dry_run: bool = False
    found: list[tuple[str, str]] = field(default_factory=list)  # (confirmation, why)
    queued: int = 0
    exports: bool = False
    pulls: bool = False
    pull: PullReport | None = None
    pull_queued: bool = False
    delivery_queued: bool = False


def _out_of_step(connection: Connection) -> QuerySet[Reservation]:
    """The hotel's reservations the partner should have but may not: with a pending or
    dead job, or confirmed with no partner reference (the dispatcher's rules of what is
    sent: never a PMS's own reservation, nor an OTA's back to that OTA).

    A stay already over is not sent for want of a reference: a hotel connecting its
    PMS after a year on Pema would otherwise send it every past guest."""
    open_jobs = SyncJob.objects.filter(
        connection=connection,
        reservation=OuterRef("pk"),
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.DEAD],
    )
    return (
        Reservation.objects.filter(hotel_id=connection.hotel_id)
        .exclude(source=Reservation.Source.PMS)
        .exclude(source=Reservation.Source.OTA, source_channel=connection.provider)
        .annotate(open_job=Exists(open_jobs))
        .filter(
            Q(open_job=True)
            | Q(
                pms_reference="",
                status=Reservation.Status.CONFIRMED,
                check_out__gte=connection.hotel.today(),
            )
        )
        .order_by("id")
    )


def _requeue_reservations(connection: Connection, report: ReconcileReport) -> None:
    for res in _out_of_step(connection):
        jobs = SyncJob.objects.filter(connection=connection, reservation=res)
        dead = list(jobs.filter(status=SyncJob.Status.DEAD).order_by("id"))
        pending = jobs.filter(status=SyncJob.Status.PENDING)
        if dead:
            why = f"{len(dead)} dead job(s)"
        elif pending.exists():
            why = "a job is still pending"
        else:
            why = "no partner reference and no job"
        report.found.append((res.confirmation_number, why))
        if report.dry_run:
            continue
        if dead:
            for job in dead:
                retry_job(job)
        elif why == "a job is still pending":
            pending.update(next_attempt_at=timezone.now())
        else:
            SyncJob.objects.create(
                connection=connection,
                stream=reservation_stream(res.pk),
                kind=SyncJob.Kind.RES_CREATE,
                reservation=res,
                items=1,
            )
        report.queued += 1


def reconcile(
    connection: Connection, *, dry_run: bool = False, pull_inline: bool = False
) -> ReconcileReport:
    """Bring the connection back in step with its partner.

    Outbound (a provider that takes reservations): reservations with no
    partner reference, or a pending or dead job, are queued again and a worker
    is woken. Inbound (a pull connection): pulled now (``pull_inline``) or by a
    worker. ``dry_run`` only reports. A connection with neither is a
    :class:`NotSupported`.
    """
    _require_enabled(connection, "reconcile it")
    report = ReconcileReport(
        connection.pk,
        dry_run=dry_run,
        exports=exports_reservations(connection),
        pulls=pulls_reservations(connection),
    )
    if not report.exports and not report.pulls:
        raise NotSupported(
            "not_supported",
            f"Connection #{connection.pk} ({connection.name}) neither takes reservations "
            "from Pema nor keeps any for Pema to pull: nothing to reconcile.",
        )
    if report.exports:
        _requeue_reservations(connection, report)
        if not dry_run:
            report.delivery_queued = _wake_delivery(connection)
    if report.pulls and not dry_run:
        if pull_inline:
            report.pull = pull_connection(connection.pk)
            report.pull.error = redact(connection, report.pull.error)
        else:
            from .tasks import enqueue
            from .tasks import pull_connection as pull_task

            report.pull_queued = enqueue(pull_task, connection.pk)
    return report


# ------------------------------------------------------------------ health


def health(connections: QuerySet[Connection] | None = None) -> list[ConnectionHealth]:
    """The health of ``connections`` (every connection when None)."""
    return connection_health(connections)
