"""The staff groups: Front office (reservations), Revenue (rates and calendar), Administrator.

The PMS seed's roles map onto them: Owner is Administrator, Manager is Front office.

Created by a data migration and brought up to date after every migrate, so
permissions of apps added later reach the Administrator group.
"""

from __future__ import annotations

from django.apps import apps as global_apps

FRONT_OFFICE = {
    "bookings": {
        "reservation": ("add", "change", "view"),
        "reservationroom": ("view",),
        "roomnight": ("view",),
        "guest": ("add", "change", "view"),
        "room": ("change", "view"),
        "roomtype": ("view",),
        "rateplan": ("view",),
        "inventoryday": ("view",),
        "roomblock": ("view",),
        "rateday": ("view",),
        "hotel": ("view",),
    },
    # The seed's Manager: sees the PMS sync log and may start a sync (the Owner is the
    # Administrator group, which holds every permission).
    "pms": {"pmssynclog": ("add", "view")},
}
REVENUE = {
    "bookings": {
        "rateplan": ("add", "change", "view"),
        "rateday": ("add", "change", "view"),
        "inventoryday": ("add", "change", "view"),
        "roomblock": ("view",),
        "roomtype": ("change", "view"),
        "room": ("view",),
        "hotel": ("view",),
        "reservation": ("view",),
        "changeevent": ("view",),
    }
}
GROUPS = {"Front office": FRONT_OFFICE, "Revenue": REVENUE}


def sync_staff_groups(apps=global_apps) -> None:
    """Create the groups and grant their permissions; idempotent."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for app_label, models in grants.items():
            for model, actions in models.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted += list(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )
        group.permissions.add(*wanted)
    admin_group, _ = Group.objects.get_or_create(name="Administrator")
    admin_group.permissions.add(*Permission.objects.all())
