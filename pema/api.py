"""API plumbing shared by every app's endpoints.

Authentication classes set ``request.auth`` to a credential object (an API
key) that answers ``has_scope(scope)``. Staff signed in to the admin pass a
scope only when they hold the Django permissions it stands for (below), so
the API never lets a front-office user do what the admin would refuse them.
Apps name the scope they need with ``staff_or_scope``, so they never import
the app that owns the keys.

A credential may also be limited to some hotels (``hotel_ids``). What holds
every hotel's data at once (a backup of the database) needs one that reaches
every hotel: ``staff_or_scope(scope, every_hotel=True)``. Staff sessions are
not limited to hotels.

Every app's errors share one shape, ``{"error": {"code", "message", "fields"}}``
(``error_body``), documented per endpoint with ``documented_errors`` from a
table of statuses and example codes; ``document_response_headers`` adds the
headers every answer carries to the OpenAPI schema.

Input is taken as the schema describes it: JSON bodies with ``JsonTypes``
(DRF would also take ``1`` for ``true`` or a number for a string), and filter
parameters with ``StrictFilterBackend`` (django-filter would ignore one sent
empty).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

# The model whose rows a credential's ``hotel_ids`` name.
HOTEL_MODEL = "bookings.Hotel"

# What a staff session needs, in Django permissions, to act with each scope.
# A scope missing here is open to superusers only.
SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "availability:read": ("bookings.view_rateday", "bookings.view_inventoryday"),
    "bookings:read": ("bookings.view_reservation",),
    "bookings:write": ("bookings.add_reservation", "bookings.change_reservation"),
    "ids:admin": (
        "channels.change_connection",
        "bookings.change_rateday",
        "bookings.change_inventoryday",
    ),
    "pms:admin": ("channels.change_connection", "pms.add_pmssynclog"),
    "channels:admin": (
        "channels.view_connection",
        "channels.change_connection",
        "channels.change_syncjob",
    ),
    "backups:admin": (
        "backups.add_systembackup",
        "backups.delete_systembackup",
        "backups.restore_systembackup",
    ),
    "suppliers:read": ("suppliers.view_supplierhotel",),
    "suppliers:write": ("suppliers.add_supplierbooking", "suppliers.change_supplierbooking"),
}


def staff_user_has_scope(user, scope: str) -> bool:
    """A signed-in staff user holds ``scope`` through the permissions it stands for."""
    if user is None or not user.is_authenticated or not user.is_staff or not user.is_active:
        return False
    if user.is_superuser:
        return True
    needed = SCOPE_PERMISSIONS.get(scope)
    return bool(needed) and user.has_perms(needed)


def request_has_scope(request, scope: str) -> bool:
    """True for staff holding the scope's permissions, or a credential that carries it."""
    if staff_user_has_scope(getattr(request, "user", None), scope):
        return True
    credential = getattr(request, "auth", None)
    has_scope = getattr(credential, "has_scope", None)
    return bool(has_scope and has_scope(scope))


def reaches_every_hotel(request) -> bool:
    """True for a staff session, or a credential given every hotel there is."""
    hotel_ids = getattr(getattr(request, "auth", None), "hotel_ids", None)
    if hotel_ids is None:
        return True
    hotels = apps.get_model(HOTEL_MODEL).objects
    return not hotels.exclude(pk__in=list(hotel_ids)).exists()


def staff_or_scope(scope: str, *, every_hotel: bool = False) -> type[BasePermission]:
    """A DRF permission class that admits staff sessions or credentials with ``scope``
    (and, with ``every_hotel``, only credentials that reach every hotel)."""

    class StaffOrScope(BasePermission):
        message = (
            f"This needs an API key with the scope {scope!r}, or a staff session with the "
            "permissions it stands for."
        )
        if every_hotel:
            message += " It acts on every hotel's data at once, so a key must be given every hotel."

        def has_permission(self, request, view) -> bool:
            if not request_has_scope(request, scope):
                return False
            return not every_hotel or reaches_every_hotel(request)

    StaffOrScope.__name__ = f"StaffOrScope_{scope.replace(':', '_')}"
    return StaffOrScope


# --- The error shape ----------------------------------------------------------------------


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    """``{"error": {"code", "message", "fields", ...extra}}``, the body of every API error."""
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a person to read.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages (nested fields as `guest.email`).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# Status -> (description, [(code, example message), ...]).
ErrorTable = dict[int, tuple[str, list[tuple[str, str]]]]


def documented_errors(table: ErrorTable, statuses: Iterable[int]) -> dict[int, OpenApiResponse]:
    """The OpenAPI responses for ``statuses``, each with an example per code in ``table``."""
    out = {}
    for status in sorted(set(statuses)):
        description, examples = table[status]
        out[status] = OpenApiResponse(
            ErrorSerializer,
            description=description,
            examples=[
                OpenApiExample(
                    code,
                    value=error_body(code, message),
                    response_only=True,
                    status_codes=[str(status)],
                )
                for code, message in examples
            ],
        )
    return out


# --- Headers of every answer, in the schema ---------------------------------------------------

REQUEST_ID_HEADER = {
    "description": "The request's id (yours when sane, else a new one), also in the logs.",
    "required": True,
    "schema": {"type": "string"},
}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "Requests the caller's limit allows in its sliding window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the window now (absent when nothing could be counted).",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def document_response_headers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: ``X-Request-ID`` on every response, the
    rate-limit headers on every successful one."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = REQUEST_ID_HEADER
                if status.startswith("2"):
                    headers.update(RATE_LIMIT_HEADERS)
    return result


# --- Input as the schema describes it ----------------------------------------------------------


def _json_type(field: serializers.Field) -> tuple[tuple[type, ...], str] | None:
    """The JSON types a body may send for ``field`` (and their name), or None for any."""
    if isinstance(field, serializers.BooleanField):
        return (bool,), "a boolean"
    if isinstance(field, serializers.IntegerField):
        return (int,), "an integer"
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return (int, float), "a number"
    if isinstance(field, serializers.ChoiceField) and not all(
        isinstance(choice, str) for choice in field.choices
    ):
        return None
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.TimeField,
    ):
        return (str,), "a string"
    if isinstance(field, serializers.ListField):
        return (list,), "an array"
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (dict,), "an object"
    return None


def json_type_error(field: serializers.Field, value: Any) -> str | None:
    """Why ``value`` (from a JSON body) is not of the JSON type ``field`` takes, or None."""
    if value is None:
        return None  # the field's allow_null decides
    expected = _json_type(field)
    if expected is None:
        return None
    types, name = expected
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        return f"Must be {name}."
    if isinstance(field, serializers.ListField):
        for index, item in enumerate(value):
            problem = json_type_error(field.child, item)
            if problem:
                return f"Item {index}: {problem}"
    return None


class JsonTypes(serializers.Serializer):
    """A body serializer that takes each field only in its JSON type: ``true``, not ``1``;
    ``"2"`` is not an integer and ``2`` not a string, as the schema says."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            problems = {
                name: [problem]
                for name, field in self.fields.items()
                if name in data
                and not field.read_only
                and (problem := json_type_error(field, data[name]))
            }
            if problems:
                raise ValidationError(problems, code="invalid")
        return super().to_internal_value(data)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing a filter parameter sent empty: django-filter would
    ignore it, though the schema gives every filter a type an empty value does not have."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = sorted(
                name
                for name in filterset_class.base_filters
                if request.query_params.get(name) == ""
            )
            if empty:
                message = "Must not be empty: leave the parameter out instead."
                raise ValidationError({name: [message] for name in empty})
        return super().filter_queryset(request, queryset, view)


# Per thread, one instance of each input serializer, used again for each request. A
# serializer deep-copies and binds its declared fields whenever an instance first
# reads them: over half of validating a booking body, and a tenth of a booking's CPU.
# Fields keep no state of a validation; the instance's own (initial data, errors,
# validated data) is reset here before each use, and a thread runs one at a time.
_serializers = threading.local()
_PER_USE = ("_validated_data", "_errors", "_data")


def validated_data(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """``serializer_class(data=data)``'s validated data; its ``ValidationError`` if invalid."""
    held = getattr(_serializers, "by_class", None)
    if held is None:
        held = _serializers.by_class = {}
    serializer = held.get(serializer_class)
    if serializer is None:
        serializer = held[serializer_class] = serializer_class(data=data)
    else:
        serializer.initial_data = data
        for name in _PER_USE:
            serializer.__dict__.pop(name, None)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
