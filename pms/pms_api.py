"""The seed's PMS endpoints under ``/api/v1/pms/``.

- ``POST sync/bookings/``, ``sync/rooms/``, ``sync/guests/`` (scope ``pms:admin`` or a
  staff session with its permissions): ``{"provider", "since", "limit", "hotel"}``
  starts a sync run in Celery and answers ``{"success", "sync_log_id", "summary"}``
  (202 while it runs; ``?wait=true`` waits up to ``PMS_SYNC_WAIT_SECONDS`` and answers
  200 with the finished run).
- ``POST <provider>/bookings/``: the booking webhook (``pms.webhook``), authenticated
  by ``x-provider-token``, not by an API key.

Thin views: validate, call ``pms.sync`` or ``pms.webhook``, shape the answer.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.views import get_hotel, visible_hotels
from channels.interface import SyncEntity
from channels.models import Connection
from channels.providers import registry
from pema import tasks as pema_tasks
from pema.api import JsonTypes, documented_errors, error_body, staff_or_scope

from . import sync, webhook
from .api import ERRORS as IDS_ERRORS
from .models import PmsSyncLog
from .tasks import run_sync

PmsAdmin = staff_or_scope("pms:admin")


class SyncInput(JsonTypes):
    provider = serializers.CharField(max_length=32, help_text="The PMS provider, e.g. mews.")
    since = serializers.DateTimeField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    hotel = serializers.CharField(
        max_length=32, required=False, help_text="The hotel's code (needed with several)."
    )

    def validate_provider(self, value: str) -> str:
        if value not in registry():
            raise serializers.ValidationError(f"Unknown provider {value!r}.")
        return value


SYNC_ANSWER = inline_serializer(
    "PmsSyncAnswer",
    {
        "success": serializers.BooleanField(),
        "sync_log_id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "summary": inline_serializer(
            "PmsSyncSummary",
            {
                "processed": serializers.IntegerField(),
                "failed": serializers.IntegerField(),
                "duration_ms": serializers.IntegerField(),
            },
        ),
        "error": serializers.CharField(),
    },
)


def sync_answer(log: PmsSyncLog) -> dict:
    return {
        "success": log.status != PmsSyncLog.Status.FAILED,
        "sync_log_id": log.pk,
        "status": log.status,
        "summary": {
            "processed": log.processed,
            "failed": log.failed,
            "duration_ms": log.duration_ms,
        },
        "error": log.error,
    }


def _error(code: str, message: str, http: int) -> Response:
    return Response(error_body(code, message), http)


def start_in_celery(log: PmsSyncLog) -> None:
    """Queue the run after the commit; with the broker down, run it here."""
    if not pema_tasks.enqueue(run_sync, log.pk, queue=settings.CHANNELS_TASK_QUEUE):
        sync.run_sync(log.pk)


def wait_for(log: PmsSyncLog, seconds: float) -> PmsSyncLog:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        log.refresh_from_db()
        if log.status != PmsSyncLog.Status.RUNNING:
            break
        time.sleep(0.1)
    return log


#: The IDS endpoints' error table, with this API's own scope.
ERRORS = {
    **IDS_ERRORS,
    403: ("The key lacks the scope pms:admin (or the staff user its permissions).", [
        ("permission_denied", "You do not have permission to perform this action."),
    ]),
}  # fmt: skip


@extend_schema(
    request=SyncInput,
    responses={
        200: SYNC_ANSWER,
        202: SYNC_ANSWER,
        **documented_errors(ERRORS, (400, 401, 403, 404, 429)),
    },
    parameters=[OpenApiParameter("wait", bool, description="Wait up to 30 s for the run.")],
    tags=["pms"],
)
class SyncView(APIView):
    """Start a PMS sync of one entity for a hotel's connection to ``provider``."""

    permission_classes = [PmsAdmin]
    entity: SyncEntity = SyncEntity.BOOKINGS

    def post(self, request):
        s = SyncInput(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        if data.get("hotel"):
            hotels = [get_hotel(request, data["hotel"])]
        else:
            hotels = list(visible_hotels(request))
        connections = list(
            Connection.objects.select_related("hotel").filter(
                hotel__in=hotels, provider=data["provider"], enabled=True
            )
        )
        if not connections:
            return _error(
                "not_configured", f"No enabled {data['provider']} connection for this key.", 404
            )
        if len(connections) > 1:
            return _error(
                "hotel_required", "Several hotels have this provider: name the hotel.", 400
            )
        try:
            with transaction.atomic():
                log = sync.start_sync(
                    connections[0],
                    self.entity,
                    operation=PmsSyncLog.Operation.MANUAL,
                    since=data.get("since"),
                    limit=data.get("limit"),
                    correlation_id=request.headers.get("x-correlation-id", "")
                    or getattr(request._request, "request_id", ""),
                )
        except sync.NotSyncable as exc:
            return _error("not_supported", str(exc), 400)
        start_in_celery(log)
        wait = request.query_params.get("wait", "").lower() in ("1", "true", "yes")
        if wait:
            log = wait_for(log, settings.PMS_SYNC_WAIT_SECONDS)
        else:
            log.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if log.status == PmsSyncLog.Status.RUNNING else 200
        return Response(sync_answer(log), status=code)


class SyncBookingsView(SyncView):
    entity = SyncEntity.BOOKINGS


class SyncRoomsView(SyncView):
    entity = SyncEntity.ROOMS


class SyncGuestsView(SyncView):
    entity = SyncEntity.GUESTS


WEBHOOK_ANSWER = inline_serializer(
    "PmsWebhookAnswer",
    {
        "success": serializers.BooleanField(),
        "sync_log_id": serializers.IntegerField(),
        "inbound_message_id": serializers.IntegerField(),
        "correlation_id": serializers.CharField(),
    },
)


@extend_schema(
    request=None,
    responses={202: WEBHOOK_ANSWER, **documented_errors(ERRORS, (400, 401, 404))},
    tags=["pms"],
    auth=[],
)
class BookingWebhookView(APIView):
    """A PMS posts one booking (the seed's normalised JSON); stored, 202, applied by a task."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request, provider: str):
        correlation_id = request.headers.get("x-correlation-id", "")[:64]
        try:
            received = webhook.receive_booking(
                provider,
                slug=request.headers.get("x-hotel-slug", ""),
                token=request.headers.get("x-provider-token", ""),
                correlation_id=correlation_id,
                body=request.body,
            )
        except webhook.WebhookError as exc:
            return _error(exc.code, exc.message, exc.status)
        return Response(
            {
                "success": True,
                "sync_log_id": received.log.pk,
                "inbound_message_id": received.message.pk,
                "correlation_id": correlation_id,
            },
            status=status.HTTP_202_ACCEPTED,
        )
