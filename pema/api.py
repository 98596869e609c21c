"""API plumbing shared by every app's endpoints.

Authentication classes set ``request.auth`` to a credential object (an API
key) that answers ``has_scope(scope)``. Staff signed in to the admin pass a
scope only when they hold the Django permissions it stands for (below), so
the API never lets a front-office user do what the admin would refuse them.
Apps name the scope they need with ``staff_or_scope``, so they never import
the app that owns the keys.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

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
    "backups:admin": (
        "backups.add_systembackup",
        "backups.delete_systembackup",
        "backups.restore_systembackup",
    ),
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


def staff_or_scope(scope: str) -> type[BasePermission]:
    """A DRF permission class that admits staff sessions or credentials with ``scope``."""

    class StaffOrScope(BasePermission):
        message = (
            f"This needs an API key with the scope {scope!r}, or a staff session with the "
            "permissions it stands for."
        )

        def has_permission(self, request, view) -> bool:
            return request_has_scope(request, scope)

    StaffOrScope.__name__ = f"StaffOrScope_{scope.replace(':', '_')}"
    return StaffOrScope
