"""The routes partners call: ``/hooks/<connection uuid>/`` and ``/ical/<uuid>/<room>.ics``.

Thin: find the connection, hand the request to the inbound pipeline (which has
the provider verify it, stores it raw and queues it to be applied), and answer
at once. Applying happens in a task, so the partner gets its 2xx fast.

The calendar export is read by partners that poll Pema's calendar (Airbnb's
iCalendar import): the URL carries the provider's token for that room (a
wrong one is a 404, as for a room that does not exist), the body comes from
``channels.calendar_export`` rendered by the provider, and an ``ETag`` lets a
poll that finds nothing new end in a 304.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bookings.api.errors import error_body

from .calendar_export import UnknownRoom, calendar_export
from .inbound import receive_webhook
from .interface import WebhookRequest
from .models import Connection
from .providers.base import NotSupported, WebhookRefused

logger = logging.getLogger(__name__)


def _webhook_request(request: HttpRequest) -> WebhookRequest:
    return WebhookRequest(
        method=request.method or "POST",
        path=request.path,
        headers={name.lower(): value for name, value in request.headers.items()},
        query={name: request.GET[name] for name in request.GET},
        body=request.body,
        received_at=timezone.now(),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )


@csrf_exempt  # partners sign their pushes; there is no browser session to protect
@require_POST
def inbound_hook(request: HttpRequest, connection_uuid: uuid.UUID) -> HttpResponse:
    connection = Connection.objects.select_related("hotel").filter(uuid=connection_uuid).first()
    if connection is None:
        return JsonResponse(error_body("not_found", "No such hook."), status=404)
    if not connection.enabled:
        # The partner retries later; nothing it sends is lost meanwhile.
        return JsonResponse(
            error_body("connection_disabled", "This connection is switched off."), status=503
        )
    try:
        messages = receive_webhook(connection, _webhook_request(request))
    except NotSupported:
        return JsonResponse(error_body("not_found", "No such hook."), status=404)
    except WebhookRefused as refused:
        logger.warning(
            "Refused a push to connection %s from %s: %s",
            connection.pk,
            request.META.get("REMOTE_ADDR", "?"),
            refused.message,
        )
        status = refused.http_status if refused.http_status in (401, 403) else 401
        return JsonResponse(error_body("unauthorized", refused.message), status=status)
    reply = connection.get_provider().webhook_reply(len(messages))
    if reply is not None:  # the partner's own answer shape (Agoda's <result><success/>)
        return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    return JsonResponse({"received": len(messages)}, status=200)


def _not_found() -> HttpResponse:
    return HttpResponse("No such calendar.\n", status=404, content_type="text/plain")


@require_GET
def calendar_feed(request: HttpRequest, connection_uuid: uuid.UUID, room: str) -> HttpResponse:
    connection = Connection.objects.select_related("hotel").filter(uuid=connection_uuid).first()
    if connection is None:
        return _not_found()
    provider = connection.get_provider()
    try:
        expected = provider.export_token(room)
    except NotSupported:
        return _not_found()
    if not expected or not hmac.compare_digest(
        expected.encode(), request.GET.get("t", "").encode()
    ):
        return _not_found()
    if not connection.enabled:
        return HttpResponse("This connection is switched off.\n", status=503)
    try:
        body, content_type = provider.render_calendar(calendar_export(connection, room))
    except UnknownRoom:
        return _not_found()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in wanted or "*" in wanted:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response
