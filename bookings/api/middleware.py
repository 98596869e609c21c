"""API middleware: the request id on every response and the audit log of API writes.

``ApiMiddleware`` sits first in ``MIDDLEWARE``, so every response (an admin
page, a Django 404, an API 500) carries ``X-Request-ID`` and every log record
written while serving it carries the same id. Under ``/api/`` it also accepts
a missing trailing slash, writes an ``ApiAuditLog`` row for every write call
and every failed authentication (as many as ``auth_failures`` lets through
per address: past that, an address is answered 429 unread), and keeps the
promise that every error is in the API's JSON shape: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 ``payload_too_large`` (Django would
raise before any view), and an error page Django renders itself (the DEBUG
404 and 500 pages, the 400 of a disallowed host) is replaced by the same
shape with the same status.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from pema.sql import insert_rows

from . import auth_failures, request_id
from .addresses import client_ip
from .errors import error_body

if TYPE_CHECKING:
    from ..models import ApiAuditLog

logger = logging.getLogger(__name__)
AUDIT_BODY_LIMIT = 4000
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    # Made past CommonMiddleware, which would otherwise set it (no chunked answer).
    response["Content-Length"] = str(len(response.content))
    return response


def _too_many_failures(wait: float) -> JsonResponse:
    seconds = max(int(wait) + (wait % 1 > 0), 1)
    message = (
        "Too many failed authentications from this address; "
        f"try again in {seconds} seconds with a valid API key."
    )
    response = _json_error(429, "rate_limited", message)
    response["Retry-After"] = str(seconds)
    return response


def _too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"The body is larger than this API accepts ({limit} bytes)."
    return _json_error(413, "payload_too_large", message)


# Codes for the statuses Django answers with a page of its own; others are named
# after their reason phrase ("request_header_fields_too_large").
_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 500: "server_error"}
_MESSAGES = {
    404: "There is nothing at this address.",
    500: "Something went wrong on our side; it has been logged.",
}
# Headers of the original answer that still mean something on the replacement.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _in_error_shape(response: HttpResponse) -> HttpResponse:
    """An error answer that is not JSON (a Django page), as the same status in the error shape."""
    status = response.status_code
    if status < 400 or getattr(response, "streaming", False):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = _CODES.get(status) or phrase.lower().replace(" ", "_").replace("-", "_")
    replacement = _json_error(status, code, _MESSAGES.get(status, f"{phrase}."))
    for name in _KEPT_HEADERS:
        if name in response:
            replacement[name] = response[name]
    return replacement


def _add_rate_limit_headers(request: HttpRequest, response: HttpResponse) -> None:
    """``RateLimit-Limit`` and ``-Remaining`` of the limit the request was counted against."""
    state = getattr(request, "pema_rate_limit", None)
    if state is not None and state.remaining is not None:
        response["RateLimit-Limit"] = str(state.limit)
        response["RateLimit-Remaining"] = str(state.remaining)


def _trim(data: bytes | str) -> str:
    if isinstance(data, bytes):
        data = data[: AUDIT_BODY_LIMIT + 1].decode("utf-8", errors="replace")
    # PostgreSQL text cannot hold NUL; the audit keeps a visible stand-in.
    data = data.replace("\x00", "\\u0000")
    return data if len(data) <= AUDIT_BODY_LIMIT else data[:AUDIT_BODY_LIMIT] + "…"


class ApiMiddleware:
    """Request id for all; slash tolerance and audit for ``/api/``."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id.choose(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        # Not reset on the way out: Django logs "Bad Request" and errors after the
        # middleware returns, and those records must carry the id too. The next
        # request on this thread sets its own.
        request_id.set_current(rid)
        is_api = request.path_info.startswith("/api/")
        if is_api:
            self._add_missing_slash(request)
        started = time.perf_counter()
        audited = is_api
        body: bytes | str = b""
        wait = auth_failures.blocked_for(request) if is_api else 0.0
        if wait:
            # Too many failed authentications from here: refused unread, unaudited.
            response, audited = _too_many_failures(wait), False
        else:
            try:
                # Read the body now: a view that streams it would leave nothing to audit.
                body = request.body if is_api and request.method not in SAFE_METHODS else b""
            except RequestDataTooBig:
                length = request.META.get("CONTENT_LENGTH") or "unknown"
                body = f"(a body of {length} bytes, not read)"
                response = _too_large()
            else:
                response = self.get_response(request)
        if is_api:
            if response.status_code == 401:
                state = auth_failures.count_failure(request)
                if state is not None and not state.accepted:
                    response, audited = _too_many_failures(state.retry_after), False
            response = _in_error_shape(response)
            _add_rate_limit_headers(request, response)
        response["X-Request-ID"] = rid
        if audited and (request.method not in SAFE_METHODS or response.status_code == 401):
            entry = self._audit_entry(request, response, body, time.perf_counter() - started)
            # Written when the server closes the response, after its last byte went out:
            # the caller does not wait for the audit row. It was already a transaction of
            # its own after the request's, so a crash in between loses the same row as before.
            response._resource_closers.append(lambda: self._write_audit(entry))
        return response

    @staticmethod
    def _add_missing_slash(request: HttpRequest) -> None:
        """``/api/v1/x`` serves ``/api/v1/x/``: a POST must not need a redirect."""
        if request.path_info.endswith("/"):
            return
        try:
            resolve(request.path_info)
            return
        except Resolver404:
            pass
        try:
            resolve(request.path_info + "/")
        except Resolver404:
            return
        request.path_info += "/"
        request.path += "/"

    @staticmethod
    def _audit_entry(
        request: HttpRequest, response: HttpResponse, body: bytes | str, seconds: float
    ) -> ApiAuditLog:
        from ..models import ApiAuditLog

        api_key = getattr(request, "pema_api_key", None)
        hotel = getattr(request, "pema_hotel", None)
        content = b"" if getattr(response, "streaming", False) else response.content
        entry = ApiAuditLog(
            api_key=api_key,
            key_prefix=api_key.prefix
            if api_key
            else getattr(request, "pema_failed_key_prefix", ""),
            hotel=hotel,
            method=request.method[:8],
            path=request.get_full_path()[:500],
            status_code=response.status_code,
            duration_ms=int(seconds * 1000),
            request_id=request.request_id,
            client_ip=client_ip(request),
            request_body=_trim(body),
            response_body=_trim(content),
        )
        return entry

    @staticmethod
    def _write_audit(entry: ApiAuditLog) -> None:
        try:
            if transaction.get_connection().in_atomic_block:
                # A savepoint: a failed audit write must not break the enclosing transaction.
                with transaction.atomic():
                    insert_rows([entry])
            else:
                # In autocommit the one INSERT is its own transaction: no BEGIN and
                # COMMIT round trips around it, and a failure leaves nothing open.
                # (insert_rows: one hand-written INSERT, no ORM save machinery.)
                insert_rows([entry])
        except Exception:
            # The audit must never turn a served answer into an error.
            logger.exception("Could not write the API audit log")
