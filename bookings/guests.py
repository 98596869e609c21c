"""Guest profiles from outside (a PMS), merged with the hotel's guests by e-mail.

One guest per e-mail per hotel (the unique constraint): a profile whose
e-mail the hotel knows updates that guest, one it does not know is added.
A profile without an e-mail is matched by its PMS id only, never by name, so
two different people of the same name are never merged. An empty field never
overwrites a stored one. Many profiles are merged in a few statements
(one read, one bulk update, one bulk insert), so a PMS's whole guest list
imports quickly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from .models import Guest, Hotel

COUNTRY = re.compile(r"^[A-Z]{2}$")
FIELDS = ("first_name", "last_name", "phone", "country", "loyalty_tier", "total_stays", "pms_id")


@dataclass(frozen=True)
class GuestProfile:
    """A guest as a PMS knows them (``total_stays`` None: the PMS does not say)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    loyalty_tier: str = ""
    total_stays: int | None = None
    pms_id: str = ""


@dataclass
class MergeReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


def _clean(profile: GuestProfile) -> dict:
    country = profile.country.strip().upper()
    values = {
        "first_name": profile.first_name.strip()[:100],
        "last_name": profile.last_name.strip()[:100],
        "phone": profile.phone.strip()[:40],
        "country": country if COUNTRY.match(country) else "",
        "loyalty_tier": profile.loyalty_tier.strip()[:40],
        "total_stays": profile.total_stays,
        "pms_id": profile.pms_id.strip()[:64],
    }
    return {k: v for k, v in values.items() if v not in ("", None)}


def merge_guest_profiles(hotel: Hotel, profiles: Sequence[GuestProfile]) -> MergeReport:
    """Merge ``profiles`` into the hotel's guests (by e-mail, else by PMS id); count outcomes."""
    report = MergeReport()
    wanted: dict[str, tuple[str, dict]] = {}  # key -> (email, values); the last one wins
    for profile in profiles:
        email = profile.email.strip().lower()[:254]
        values = _clean(profile)
        key = f"e:{email}" if email else (f"p:{values['pms_id']}" if "pms_id" in values else "")
        if not key:
            report.skipped += 1  # neither an e-mail nor an id: nothing to merge it by
            continue
        before = wanted.get(key, ("", {}))[1]
        wanted[key] = (email, before | values)
    if not wanted:
        return report
    emails = [email for email, _ in wanted.values() if email]
    pms_ids = [v["pms_id"] for email, v in wanted.values() if not email and "pms_id" in v]
    with transaction.atomic():
        existing = Guest.objects.select_for_update().filter(
            Q(hotel=hotel) & (Q(email__in=emails) | (Q(email="") & Q(pms_id__in=pms_ids)))
        )
        by_key = {}
        for guest in existing:
            by_key[f"e:{guest.email}" if guest.email else f"p:{guest.pms_id}"] = guest
        changed, new = [], []
        for key, (email, values) in wanted.items():
            guest = by_key.get(key)
            if guest is None:
                values.setdefault("last_name", "(no name given)")
                new.append(Guest(hotel=hotel, email=email, **values))
                continue
            diff = {k: v for k, v in values.items() if getattr(guest, k) != v}
            if not diff:
                report.unchanged += 1
                continue
            for name, value in diff.items():
                setattr(guest, name, value)
            changed.append(guest)
        if changed:
            Guest.objects.bulk_update(changed, FIELDS, batch_size=1000)
        if new:
            Guest.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        report.updated, report.created = len(changed), len(new)
    return report
