"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from ..api_keys import find_key
from ..models import ApiKey


class KeyUser:
    """The ``request.user`` of a key: authenticated, never staff, no Django permissions."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False


def raw_key_from(request) -> str | None:
    """The key the caller sent, if any."""
    header = get_authorization_header(request).decode("latin-1").strip()
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    value = request.META.get("HTTP_X_API_KEY", "").strip()
    return value or None


class ApiKeyAuthentication(BaseAuthentication):
    """Sets ``request.auth`` to the ``ApiKey``; a key that is sent but not valid is a 401."""

    def authenticate(self, request):
        raw = raw_key_from(request)
        if raw is None:
            return None
        api_key = find_key(raw)
        django_request = request._request
        if api_key is None:
            # The audit middleware logs failed authentications with the prefix they claimed.
            django_request.pema_failed_key_prefix = (raw.split("_") + ["", ""])[1][:16]
            raise exceptions.AuthenticationFailed(
                "The API key is not valid: unknown, revoked or expired.", code="invalid_api_key"
            )
        django_request.pema_api_key = api_key
        return KeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the key in the OpenAPI schema."""

    target_class = "bookings.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer pema_<prefix>_<secret>` "
            "(or the header `X-API-Key: pema_<prefix>_<secret>`).",
        }
