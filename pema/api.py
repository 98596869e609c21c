"""API plumbing shared by every app's endpoints.

Authentication classes set ``request.auth`` to a credential object (an API
key) that answers ``has_scope(scope)``; staff users signed in to the admin
pass every scope. Apps name the scope they need with ``staff_or_scope``, so
they never import the app that owns the keys.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def request_has_scope(request, scope: str) -> bool:
    """True for signed-in staff, or a credential that carries ``scope``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    credential = getattr(request, "auth", None)
    has_scope = getattr(credential, "has_scope", None)
    return bool(has_scope and has_scope(scope))


def staff_or_scope(scope: str) -> type[BasePermission]:
    """A DRF permission class that admits staff sessions or credentials with ``scope``."""

    class StaffOrScope(BasePermission):
        message = f"This needs a staff session or an API key with the scope {scope!r}."

        def has_permission(self, request, view) -> bool:
            return request_has_scope(request, scope)

    StaffOrScope.__name__ = f"StaffOrScope_{scope.replace(':', '_')}"
    return StaffOrScope
