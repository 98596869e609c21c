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
"""

from __future__ import annotations

from django.apps import apps
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
