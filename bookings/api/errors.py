"""One error shape for the whole API, and the one place domain errors become HTTP.

Every 4xx and 5xx answers ``{"error": {"code", "message", "fields"}}``, with
extra keys where they help (``reasons`` for no availability, ``total`` and
``currency`` for a changed price). Django's own 404 and 500 pages answer in
the same shape under ``/api/``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response

from pema.api import error_body

from ..errors import (
    BookingError,
    CalendarConflict,
    ExternalAvailabilityUnavailable,
    InvalidStay,
    NoAvailability,
    NotModifiable,
    PaymentUnavailable,
    PriceChanged,
    ReservationBusy,
    ReservationClosed,
)

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error raised by a view with its status, code, message and optional fields."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        fields: dict | None = None,
        **extra,
    ) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.extra = extra


def _flatten(detail, prefix: str = "") -> tuple[dict[str, list[str]], list[str]]:
    """DRF's nested validation detail as {"a.b": [messages]} and the list of error codes."""
    fields: dict[str, list[str]] = {}
    codes: list[str] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else key
            sub, sub_codes = _flatten(value, f"{prefix}{name}.")
            fields.update(sub)
            codes.extend(sub_codes)
    elif isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            fields[prefix.rstrip(".") or "non_field_errors"] = [str(d) for d in detail]
            codes.extend(getattr(d, "code", "invalid") for d in detail)
        else:
            for index, item in enumerate(detail):
                sub, sub_codes = _flatten(item, f"{prefix}{index}.")
                fields.update(sub)
                codes.extend(sub_codes)
    else:
        fields[prefix.rstrip(".") or "non_field_errors"] = [str(detail)]
        codes.append(getattr(detail, "code", "invalid"))
    return fields, codes


def _validation_response(exc: exceptions.ValidationError) -> Response:
    fields, codes = _flatten(exc.detail)
    if "unknown_field" in codes:
        code, message = "unknown_field", "The request has fields this endpoint does not know."
    elif "required" in codes:
        code, message = "missing_field", "A required field is missing."
    else:
        code, message = "invalid_field", "Some fields are not valid."
    first = next(iter(fields.items()), None)
    if first:
        message = f"{message} {first[0]}: {first[1][0]}"
    return Response(error_body(code, message, fields), status=status.HTTP_400_BAD_REQUEST)


def domain_error_response(exc: BookingError) -> Response:
    """The HTTP answer for a refusal of the domain."""
    extra: dict = {}
    if isinstance(exc, InvalidStay | PaymentUnavailable):
        http = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, NoAvailability):
        http = status.HTTP_409_CONFLICT
        extra["reasons"] = [r.as_dict() for r in exc.reasons]
    elif isinstance(exc, PriceChanged):
        http = status.HTTP_409_CONFLICT
        extra.update(total=exc.total, currency=exc.currency)
    elif isinstance(exc, ReservationClosed | ReservationBusy | CalendarConflict | NotModifiable):
        http = status.HTTP_409_CONFLICT
    elif isinstance(exc, ExternalAvailabilityUnavailable):
        http = status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(
            error_body(
                exc.code,
                "We cannot confirm availability with the hotel right now. "
                "Please contact the hotel directly to book.",
                exc.fields,
                detail=exc.message,
            ),
            status=http,
            headers={"Retry-After": "60"},
        )
    else:
        http = status.HTTP_400_BAD_REQUEST
    return Response(error_body(exc.code, exc.message, exc.fields, **extra), status=http)


# DRF's own default codes renamed where a clearer one helps the reader of the error.
_RENAMED = {
    "parse_error": "malformed_json",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "invalid_api_key",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "rate_limited",
}


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: everything, even the unexpected, answers in the one shape."""
    if isinstance(exc, BookingError):
        return domain_error_response(exc)
    if isinstance(exc, ApiError):
        return Response(
            error_body(exc.code, exc.message, exc.fields, **exc.extra), status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait) + (exc.wait % 1 > 0))
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        code = _RENAMED.get(code, code)
        message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
        if isinstance(exc, exceptions.ParseError):
            message = f"The body is not valid JSON: {detail}"
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body("server_error", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found_view(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler404: JSON under /api/, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", "There is nothing at this address."), status=404
        )
    return defaults.page_not_found(request, exception)


def server_error_view(request: HttpRequest) -> HttpResponse:
    """Django's handler500: JSON under /api/, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=500,
        )
    return defaults.server_error(request)
