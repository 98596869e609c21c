"""Connecting a hotel to a partner: the connection row, its credentials and its products.

:func:`ensure_connection` is what ``manage.py ensure_connection`` and a
partner's ``setup.py`` call: idempotent (run again it changes nothing unless
``update``), validated by the provider (settings and credentials), and with
the product mapping written as ``ChannelProduct`` rows. Every problem is a
:class:`SetupError` with a message a person can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.models import Hotel, RatePlan, RoomType

from .models import ChannelProduct, Connection
from .providers import provider_class, registry


class SetupError(ValueError):
    """What was asked cannot be set up as it stands (the message says why)."""


@dataclass(frozen=True)
class ProductSpec:
    """One line of a products file: a local product and the partner's ids for it."""

    room_type: str
    rate_plan: str | None
    partner_room_id: str
    partner_rate_id: str | None


def parse_products(data: object) -> list[ProductSpec]:
    """A products list (``[{"room_type", "rate_plan", "partner_room_id", "partner_rate_id"}]``)."""
    if not isinstance(data, list):
        raise SetupError("The products must be a JSON list of objects.")
    specs = []
    for n, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise SetupError(f"Product {n} is not a JSON object.")
        unknown = set(row) - {"room_type", "rate_plan", "partner_room_id", "partner_rate_id"}
        if unknown:
            raise SetupError(f"Product {n}: unknown keys {', '.join(sorted(unknown))}.")
        room_type, room_id = row.get("room_type"), row.get("partner_room_id")
        plan, rate_id = row.get("rate_plan"), row.get("partner_rate_id")
        if not isinstance(room_type, str) or not room_type.strip():
            raise SetupError(f"Product {n}: room_type (a room-type code) is required.")
        if not isinstance(room_id, str) or not room_id.strip():
            raise SetupError(f"Product {n}: partner_room_id is required.")
        for name, value in (("rate_plan", plan), ("partner_rate_id", rate_id)):
            if value is not None and not isinstance(value, str):
                raise SetupError(f"Product {n}: {name} must be text or null.")
        if bool(plan) != bool(rate_id):
            raise SetupError(
                f"Product {n}: a rate plan needs partner_rate_id and the room level has none."
            )
        specs.append(
            ProductSpec(room_type.strip(), plan or None, room_id.strip(), (rate_id or "").strip())
        )
    return specs


def read_products_file(path: str | Path) -> list[ProductSpec]:
    """:func:`parse_products` of a JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SetupError(f"Cannot read the products file {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise SetupError(f"The products file {path} is not JSON: {exc}.") from exc
    return parse_products(data)


def _write_products(conn: Connection, specs: list[ProductSpec]) -> int:
    """Replace the connection's product rows with ``specs`` (validated like the admin)."""
    room_types = {rt.code: rt for rt in RoomType.objects.filter(hotel=conn.hotel)}
    plans = {p.code: p for p in RatePlan.objects.filter(hotel=conn.hotel)}
    ChannelProduct.objects.filter(connection=conn).delete()
    for n, spec in enumerate(specs, start=1):
        room_type = room_types.get(spec.room_type)
        if room_type is None:
            raise SetupError(f"Product {n}: {conn.hotel.code} has no room type {spec.room_type}.")
        plan = None
        if spec.rate_plan:
            plan = plans.get(spec.rate_plan)
            if plan is None:
                raise SetupError(
                    f"Product {n}: {conn.hotel.code} has no rate plan {spec.rate_plan}."
                )
        row = ChannelProduct(
            connection=conn,
            room_type=room_type,
            rate_plan=plan,
            partner_room_id=spec.partner_room_id,
            partner_rate_id=spec.partner_rate_id or "",
        )
        try:
            row.full_clean(exclude=["connection"], validate_unique=False)
            row.save()
        except ValidationError as exc:
            raise SetupError(f"Product {n}: {'; '.join(exc.messages)}") from exc
        except IntegrityError as exc:
            raise SetupError(f"Product {n}: mapped twice in the file.") from exc
    return len(specs)


def ensure_connection(
    provider: str,
    *,
    hotel: str,
    base_url: str,
    credentials: dict,
    settings: dict | None = None,
    products: list[ProductSpec] | None = None,
    update: bool = False,
    defaults: dict | None = None,
) -> tuple[Connection, bool]:
    """The hotel's connection to ``provider``, created if missing; (connection, created).

    Run again it changes nothing, unless ``update`` re-applies the base URL,
    settings, credentials and products. ``defaults`` are further model fields
    for a new connection (a partner's setup passes its name and flags).
    """
    if provider not in registry():
        raise SetupError(f"Unknown provider {provider!r}; known: {', '.join(registry())}.")
    cls = provider_class(provider)
    found = Hotel.objects.filter(code=hotel).first()
    if found is None:
        raise SetupError(f"No hotel with the code {hotel!r}.")
    settings = settings or {}
    errors = cls.validate_settings(settings) + cls.validate_credentials(credentials)
    if errors:
        raise SetupError(" ".join(errors))
    values = {"base_url": base_url, "settings": settings}
    with transaction.atomic():
        conn, created = Connection.objects.defer("credentials").get_or_create(
            hotel=found,
            provider=provider,
            defaults={
                "name": cls.label or provider,
                **(defaults or {}),
                **values,
                "credentials": credentials,
            },
        )
        if created or update:
            if update and not created:
                for key, value in values.items():
                    setattr(conn, key, value)
                conn.credentials = credentials
            try:
                conn.full_clean(exclude=["credentials"], validate_unique=False)
            except ValidationError as exc:
                raise SetupError("; ".join(exc.messages)) from exc
            conn.save()
            if products is not None:
                _write_products(conn, products)
    return conn, created
