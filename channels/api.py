"""The staff API for channel connections under ``/api/v1/connections/`` (scope ``channels:admin``).

- ``GET /connections/`` lists the caller's connections, each with its health
  (``?hotel=``, ``?provider=``, ``?enabled=`` filter), ``GET /connections/<id>/``
  shows one;
- ``POST /connections/<id>/test/`` probes the partner and answers its outcome;
- ``sync/`` and ``full-sync/`` queue the pending changes (and the whole
  calendar) and wake a worker to send them: 202 with what was queued;
- ``pull/`` pulls now and answers what was read, applied and acknowledged;
- ``reconcile/`` queues again what has not reached the partner (and has a
  pull connection pulled): 202, or 200 with ``dry_run``.

Thin: every action is one call of ``channels.operations``, whose refusals
(``OperationError``) are answered 409 with their code. A key limited to some
hotels sees only their connections: another hotel's connection answers the
same 404 as one that does not exist. Credentials are never part of an answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bookings.api.errors import ApiError
from bookings.api.schema import ERRORS as BOOKING_ERRORS
from bookings.api.serializers import StrictBodySerializer
from bookings.api.views import visible_hotels
from bookings.models import ApiKey
from pema.api import ErrorTable, documented_errors, staff_or_scope

from . import operations
from .health import ConnectionHealth
from .models import Connection, SyncJob
from .providers import provider_choices, provider_class, provider_label

SCOPE = "channels:admin"
ChannelsAdmin = staff_or_scope(SCOPE)
HEALTH_STATUSES = ["ok", "attention", "unreachable", "unauthorised", "disabled"]
_MAX_ID_DIGITS = 18  # a BigAutoField id; longer cannot exist (and would overflow the query)

ERRORS: ErrorTable = {
    400: (
        "The request is not valid.",
        [
            ("malformed_json", "The body is not valid JSON: ..."),
            ("unknown_field", "The request has fields this endpoint does not know."),
            ("invalid_field", "Some fields are not valid. dry_run: Must be a boolean."),
        ],
    ),
    401: BOOKING_ERRORS[401],
    403: (
        "The key lacks the scope channels:admin (or the staff user its permissions).",
        [("permission_denied", "This needs an API key with the scope 'channels:admin'...")],
    ),
    404: (
        "No such connection for this key (another hotel's answers the same).",
        [
            ("connection_not_found", "No connection 12 for this key."),
            ("not_found", "There is nothing at this address."),
        ],
    ),
    409: (
        "The action does not apply to this connection as it stands.",
        [
            ("connection_disabled", "Connection #3 (Booking.com) is disabled: enable it to..."),
            ("not_supported", "Connection #1 (IDS Next) pulls no reservations: ..."),
            ("connection_busy", "Connection #3 is busy (another worker holds it); try again..."),
        ],
    ),
    429: BOOKING_ERRORS[429],
    502: (
        "The partner could not be read (the pull stored nothing; the next one tries again).",
        [("partner_error", "HTTP 503 from the partner.")],
    ),
}
COMMON = (401, 403, 404, 429)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return documented_errors(ERRORS, set(COMMON) | set(statuses))


def _refused(exc: operations.OperationError) -> ApiError:
    return ApiError(409, exc.code, exc.message)


def _safe_url(url: str) -> str:
    """``url`` without a user name or password in it, should one have been typed there."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# ------------------------------------------------------------------ answers


class DeadByReasonSerializer(serializers.Serializer):
    permanent = serializers.IntegerField(help_text="The partner refused the message.")
    expired = serializers.IntegerField(help_text="The retry window ended.")
    interrupted = serializers.IntegerField(help_text="It stopped its worker too often.")


class LastErrorSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    operation = serializers.CharField()
    http_status = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class HealthSerializer(serializers.Serializer):
    """A connection's health, as on the admin's health page."""

    status = serializers.ChoiceField(
        choices=HEALTH_STATUSES,
        help_text="The worst that applies: disabled, unauthorised (the partner refuses our "
        "credentials), unreachable, attention (dead jobs, held messages or a failing last "
        "call), else ok.",
    )
    ok = serializers.BooleanField()
    pending_jobs = serializers.IntegerField()
    dead_jobs = serializers.IntegerField()
    dead_jobs_by_reason = DeadByReasonSerializer()
    last_success = serializers.DateTimeField(allow_null=True)
    last_error = LastErrorSerializer(allow_null=True)
    unauthorised = serializers.BooleanField()
    unreachable = serializers.BooleanField()
    unreachable_since = serializers.DateTimeField(allow_null=True)
    held_messages = serializers.IntegerField(
        help_text="Inbound reservation messages held (or failed) and waiting for staff."
    )


class ConnectionSerializer(serializers.Serializer):
    """A connection and its health; its credentials are never shown."""

    id = serializers.IntegerField()
    hotel = serializers.CharField(help_text="The hotel's code.")
    provider = serializers.CharField()
    provider_label = serializers.CharField()
    name = serializers.CharField()
    base_url = serializers.CharField()
    enabled = serializers.BooleanField()
    push_ari = serializers.BooleanField()
    export_reservations = serializers.BooleanField(
        help_text="Set to send reservations; only providers that take them are sent any."
    )
    check_availability = serializers.BooleanField()
    reservations = serializers.ChoiceField(
        choices=["pull", "push", "none"], help_text="How reservations come from the partner."
    )
    takes_reservations = serializers.BooleanField(
        help_text="Pema sends this partner its reservations (the provider takes them and "
        "export_reservations is set)."
    )
    webhook_path = serializers.CharField(help_text="Where a pushing partner posts.")
    last_full_sync_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    health = HealthSerializer()


class ConnectionDetailSerializer(ConnectionSerializer):
    settings = serializers.DictField(help_text="Provider settings (never credentials).")
    products = serializers.IntegerField(help_text="Active product mappings (rows).")


def _health_data(h: ConnectionHealth) -> dict:
    conn = h.connection
    error = h.last_error
    by_reason = {reason: 0 for reason in SyncJob.DeadReason.values}
    by_reason.update({d.reason: d.count for d in h.dead_by_reason})
    return {
        "status": h.status,
        "ok": h.ok,
        "pending_jobs": h.pending,
        "dead_jobs": h.dead,
        "dead_jobs_by_reason": by_reason,
        "last_success": h.last_success,
        "last_error": None
        if error is None
        else {
            "at": error.created_at,
            "operation": error.operation,
            "http_status": error.http_status,
            "message": operations.redact(conn, error.error),
        },
        "unauthorised": h.unauthorised,
        "unreachable": h.unreachable,
        "unreachable_since": conn.unreachable_since,
        "held_messages": h.held,
    }


def _connection_data(h: ConnectionHealth, *, detail: bool = False) -> dict:
    conn = h.connection
    try:
        caps = provider_class(conn.provider)(conn).capabilities()
    except (ImportError, KeyError):  # a provider taken out of PEMA_PROVIDERS since
        caps = None
    data = {
        "id": conn.pk,
        "hotel": conn.hotel.code,
        "provider": conn.provider,
        "provider_label": provider_label(conn.provider),
        "name": conn.name,
        "base_url": _safe_url(conn.base_url),
        "enabled": conn.enabled,
        "push_ari": conn.push_ari,
        "export_reservations": conn.export_reservations,
        "check_availability": conn.check_availability,
        "reservations": str(caps.reservations) if caps else "none",
        "takes_reservations": bool(caps and caps.exports_reservations) and conn.export_reservations,
        "webhook_path": conn.hook_path,
        "last_full_sync_at": conn.last_full_sync_at,
        "created_at": conn.created_at,
        "health": _health_data(h),
    }
    if detail:
        data["settings"] = conn.settings or {}
        data["products"] = conn.products.filter(active=True).count()
        return ConnectionDetailSerializer(data).data
    return ConnectionSerializer(data).data


class ProbeSerializer(serializers.Serializer):
    """The outcome of the partner's probe (logged in the sync log as any call)."""

    ok = serializers.BooleanField()
    message = serializers.CharField()
    http_status = serializers.IntegerField(
        allow_null=True, help_text="The partner's HTTP status, when it failed with one."
    )
    unauthorised = serializers.BooleanField(help_text="The partner refused our credentials.")


class SyncQueuedSerializer(serializers.Serializer):
    """What a sync queued; a worker sends it (see the connection's health for progress)."""

    connection = serializers.IntegerField()
    events = serializers.IntegerField(help_text="Change events read.")
    jobs = serializers.IntegerField(help_text="Jobs queued for those events.")
    full_sync_jobs = serializers.IntegerField(help_text="Jobs queued for the whole calendar.")
    pending_jobs = serializers.IntegerField(help_text="The connection's pending jobs now.")
    delivery_queued = serializers.BooleanField(
        help_text="A worker was woken; false: the broker is down, the minute sweep sends them."
    )


class PullSerializer(serializers.Serializer):
    """What one pull read, applied, held and acknowledged."""

    pulls = serializers.IntegerField(help_text="Reads (two when the partner said pull again).")
    received = serializers.IntegerField()
    applied = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Held for staff (see the inbound messages).")
    acknowledged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    ack_failed = serializers.IntegerField(help_text="Acknowledgements to retry later.")


class ReconcileInput(StrictBodySerializer):
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Only report.")


class FoundSerializer(serializers.Serializer):
    confirmation_number = serializers.CharField()
    why = serializers.CharField()


class ReconcileSerializer(serializers.Serializer):
    """What reconciling found out of step, and what it queued."""

    connection = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    found = FoundSerializer(many=True, help_text="Reservations the partner may not have.")
    queued = serializers.IntegerField(help_text="Of those, queued again.")
    delivery_queued = serializers.BooleanField()
    pull_queued = serializers.BooleanField(help_text="A pull connection: a worker pulls it now.")


# ------------------------------------------------------------------ the view set


class _TrueFalseField(forms.Field):
    """``true`` or ``false``, as the schema's boolean says: django-filter's own boolean
    also takes ``null``, ``1`` or ``yes`` (and ``null`` then filters nothing)."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Must be true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class TrueFalseFilter(django_filters.BooleanFilter):
    field_class = _TrueFalseField


class ConnectionFilter(django_filters.FilterSet):
    hotel = django_filters.CharFilter(field_name="hotel__code", help_text="Hotel code.")
    provider = django_filters.ChoiceFilter(choices=provider_choices)
    enabled = TrueFalseFilter()

    class Meta:
        model = Connection
        fields = ["hotel", "provider", "enabled"]


@extend_schema_view(
    list=extend_schema(
        operation_id="connections_list",
        responses={200: ConnectionSerializer(many=True), **errors(400)},
        description="The connections of the caller's hotels, each with its health.",
    ),
    retrieve=extend_schema(
        operation_id="connection_retrieve",
        responses={200: ConnectionDetailSerializer, **errors()},
        description="One connection, with its health, settings and mapped products.",
    ),
)
@extend_schema(tags=["connections"])
class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Channel connections: health, and the operator's actions on one."""

    permission_classes = [ChannelsAdmin]
    filterset_class = ConnectionFilter
    serializer_class = ConnectionSerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        conns = Connection.objects.select_related("hotel").order_by("hotel__code", "name", "pk")
        if isinstance(self.request.auth, ApiKey):
            conns = conns.filter(hotel__in=visible_hotels(self.request))
        return conns

    def get_object(self) -> Connection:
        raw = str(self.kwargs[self.lookup_field])
        conn = None
        if raw.isdigit() and len(raw) <= _MAX_ID_DIGITS:
            conn = self.get_queryset().filter(pk=int(raw)).first()
        if conn is None:
            raise ApiError(404, "connection_not_found", f"No connection {raw[:20]} for this key.")
        self.request._request.pema_hotel = conn.hotel
        return conn

    def list(self, request: Request) -> Response:
        conns = self.filter_queryset(self.get_queryset())
        return Response([_connection_data(h) for h in operations.health(conns)])

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        conn = self.get_object()
        (health,) = operations.health(Connection.objects.filter(pk=conn.pk))
        return Response(_connection_data(health, detail=True))

    @extend_schema(
        operation_id="connection_test",
        request=None,
        responses={200: ProbeSerializer, **errors()},
        description="Probe the partner: does it answer and accept our credentials? "
        "A failed probe is an answer too (ok false, with the partner's reason).",
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        outcome = operations.test_connection(self.get_object())
        return Response(
            ProbeSerializer(
                {
                    "ok": outcome.ok,
                    "message": outcome.message,
                    "http_status": outcome.http_status,
                    "unauthorised": outcome.unauthorised,
                }
            ).data
        )

    def _sync(self, *, full: bool) -> Response:
        conn = self.get_object()
        try:
            report = operations.sync(conn, full=full)
        except operations.OperationError as exc:
            raise _refused(exc) from exc
        body = {
            "connection": conn.pk,
            "events": report.events,
            "jobs": report.jobs,
            "full_sync_jobs": report.full_sync_jobs,
            "pending_jobs": report.pending,
            "delivery_queued": report.delivery_queued,
        }
        return Response(SyncQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="connection_sync",
        request=None,
        responses={202: SyncQueuedSerializer, **errors(409)},
        description="Queue the connection's pending changes now and wake a worker to send them.",
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        return self._sync(full=False)

    @extend_schema(
        operation_id="connection_full_sync",
        request=None,
        responses={202: SyncQueuedSerializer, **errors(409)},
        description="Queue the whole calendar (the pending changes too) and wake a worker "
        "to send it. A connection that sends no ARI is a 409.",
    )
    @action(detail=True, methods=["post"], url_path="full-sync", url_name="full-sync")
    def full_sync(self, request: Request, pk: str | None = None) -> Response:
        return self._sync(full=True)

    @extend_schema(
        operation_id="connection_pull",
        request=None,
        responses={200: PullSerializer, **errors(409, 502)},
        description="Pull the reservations waiting at the partner now: read, store, apply, "
        "then acknowledge. A connection whose partner does not keep reservations for Pema "
        "is a 409 not_supported.",
    )
    @action(detail=True, methods=["post"])
    def pull(self, request: Request, pk: str | None = None) -> Response:
        try:
            report = operations.pull_now(self.get_object())
        except operations.OperationError as exc:
            raise _refused(exc) from exc
        if report.error and not report.received:
            raise ApiError(502, "partner_error", report.error)
        return Response(PullSerializer(report.as_dict()).data)

    @extend_schema(
        operation_id="connection_reconcile",
        request=ReconcileInput,
        responses={
            202: ReconcileSerializer,
            200: OpenApiResponse(ReconcileSerializer, description="A dry run: nothing queued."),
            **errors(400, 409),
        },
        description="Queue again the reservations the partner may not have (no partner "
        "reference, or a pending or dead job), and have a pull connection pulled.",
    )
    @action(detail=True, methods=["post"])
    def reconcile(self, request: Request, pk: str | None = None) -> Response:
        conn = self.get_object()
        params = ReconcileInput(data=request.data if request.data is not None else {})
        params.is_valid(raise_exception=True)
        dry_run = params.validated_data["dry_run"]
        try:
            report = operations.reconcile(conn, dry_run=dry_run)
        except operations.OperationError as exc:
            raise _refused(exc) from exc
        body = {
            "connection": conn.pk,
            "dry_run": dry_run,
            "found": [{"confirmation_number": n, "why": why} for n, why in report.found],
            "queued": report.queued,
            "delivery_queued": report.delivery_queued,
            "pull_queued": report.pull_queued,
        }
        http = status.HTTP_200_OK if dry_run else status.HTTP_202_ACCEPTED
        return Response(ReconcileSerializer(body).data, status=http)
