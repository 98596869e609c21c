"""Which local product a partner's ids mean, and the partner's ids of a local product.

A connection maps its products with ``ChannelProduct`` rows. A connection with
no rows maps by code instead: ``room_type_map`` and ``rate_plan_map`` (local
code -> partner code, identity when absent), as IDS Next has always done.

:class:`ProductMap` reads a connection's mapping once and answers both ways;
build one per pass (a pull, a dispatch) rather than per item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bookings.errors import BookingError
from bookings.models import RatePlan, RoomType

from .interface import AriItem, AvailabilityItem, DateSpan, RateItem, RestrictionItem
from .models import ChannelProduct, Connection


@dataclass
class Unmapped(BookingError):
    """A partner id that the connection does not map (``unmapped_room`` or
    ``unmapped_rate``); the message says what staff should add."""

    code: str = "unmapped_room"


@dataclass(frozen=True)
class LocalProduct:
    """A local room type and, for a room x rate product, its rate plan."""

    room_type: RoomType
    rate_plan: RatePlan | None


class ProductMap:
    """One connection's mapping, read once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        rows = list(
            ChannelProduct.objects.filter(connection=connection).select_related(
                "room_type", "rate_plan"
            )
        )
        self.by_rows = bool(rows)
        self._inbound: dict[tuple[str, str], LocalProduct] = {}
        self._outbound: dict[tuple[int, int | None], tuple[str, str, bool]] = {}
        self._outbound_codes: dict[tuple[str, str | None], tuple[str, str, bool]] = {}
        self._room_types: dict[str, RoomType] = {}
        self._rate_plans: dict[str, RatePlan] = {}
        if self.by_rows:
            # Room-level rows first: they name the room type of a partner room id.
            for row in sorted(rows, key=lambda r: r.rate_plan_id is not None):
                self._room_types.setdefault(row.partner_room_id, row.room_type)
                product = LocalProduct(row.room_type, row.rate_plan)
                self._inbound[(row.partner_room_id, row.partner_rate_id)] = product
                ids = (row.partner_room_id, row.partner_rate_id, row.active)
                self._outbound[(row.room_type_id, row.rate_plan_id)] = ids
                plan_code = row.rate_plan.code if row.rate_plan_id else None
                self._outbound_codes[(row.room_type.code, plan_code)] = ids
            return
        hotel_id = connection.hotel_id
        self._room_types = {
            connection.map_room_type(room_type.code): room_type
            for room_type in RoomType.objects.filter(hotel_id=hotel_id)
        }
        self._rate_plans = {
            connection.map_rate_plan(plan.code): plan
            for plan in RatePlan.objects.filter(hotel_id=hotel_id)
        }

    # ------------------------------------------------------------------ partner -> local
    def room_type(self, partner_room_id: str) -> RoomType:
        """The local room type of a partner room id, or ``Unmapped``."""
        if partner_room_id in self._room_types:
            return self._room_types[partner_room_id]
        raise Unmapped(
            code="unmapped_room",
            message=f"The partner's room {partner_room_id!r} is not mapped to a room type of "
            f"{self.connection.name}. Map it, then retry this message.",
        )

    def resolve(self, partner_room_id: str, partner_rate_id: str) -> LocalProduct:
        """The local room type x rate plan that a partner room and rate id mean.

        Raises ``Unmapped`` naming what is missing: the room, or the rate for a
        known room. Inactive rows resolve too: a reservation for a product no
        longer sold is still a reservation.
        """
        room_type = self.room_type(partner_room_id)
        if self.by_rows:
            product = self._inbound.get((partner_room_id, partner_rate_id))
            if product is not None and product.rate_plan is not None:
                return product
        elif partner_rate_id in self._rate_plans:
            return LocalProduct(room_type, self._rate_plans[partner_rate_id])
        raise Unmapped(
            code="unmapped_rate",
            message=f"The partner's rate {partner_rate_id!r} of room {partner_room_id!r} is not "
            f"mapped to a rate plan of {room_type.code} on {self.connection.name}. "
            "Map it, then retry this message.",
        )

    # ------------------------------------------------------------------ local -> partner
    def partner_ids(
        self, room_type: RoomType, rate_plan: RatePlan | None = None, *, active_only: bool = True
    ) -> tuple[str, str] | None:
        """The partner's (room id, rate id) of a local product; None if it is not sold there.

        ``rate_plan=None`` asks for the room-level product (rate id ""). With
        code maps every product is mapped.
        """
        if self.by_rows:
            found = self._outbound.get((room_type.id, rate_plan.id if rate_plan else None))
            if found is None or (active_only and not found[2]):
                return None
            return found[0], found[1]
        room_id = self.connection.map_room_type(room_type.code)
        return room_id, self.connection.map_rate_plan(rate_plan.code) if rate_plan else ""

    def booked_ids(self, room_type: RoomType, rate_plan: RatePlan) -> tuple[str, str]:
        """The partner's ids of a product a stay is booked in (a reservation, or a stay
        the partner is asked about): an inactive row still names it, and a product
        with no row goes by the connection's code maps."""
        return self.partner_ids(room_type, rate_plan, active_only=False) or (
            self.connection.map_room_type(room_type.code),
            self.connection.map_rate_plan(rate_plan.code),
        )

    def partner_ids_by_code(
        self, room_type: str, rate_plan: str | None = None, *, active_only: bool = True
    ) -> tuple[str, str] | None:
        """:meth:`partner_ids` by local codes (what the coalescer's items carry)."""
        if self.by_rows:
            found = self._outbound_codes.get((room_type, rate_plan or None))
            if found is None or (active_only and not found[2]):
                return None
            return found[0], found[1]
        room_id = self.connection.map_room_type(room_type)
        return room_id, self.connection.map_rate_plan(rate_plan) if rate_plan else ""


def _span(item: dict) -> DateSpan:
    days = item.get("days")
    return DateSpan(
        date.fromisoformat(item["start"]),
        date.fromisoformat(item["end"]),
        tuple(days) if days is not None else None,
    )


def mapped_ari_items(products: ProductMap, items: list[dict]) -> tuple[list[AriItem], list[str]]:
    """The coalescer's item dicts as typed items with the partner's ids.

    Only mapped (and active) products are sent: an item of a product the
    connection does not sell is left out and named in the second list (for
    the sync log), which is not an error. Room-level items need the room-level
    product; restriction and rate items their room x rate product.
    """
    out: list[AriItem] = []
    unmapped: list[str] = []
    for item in items:
        kind, room_type = item["type"], item["room_type"]
        plan = item.get("rate_plan") if kind != "avail" else None
        ids = products.partner_ids_by_code(room_type, plan)
        if ids is None:
            unmapped.append(f"{room_type}/{plan}" if plan else room_type)
            continue
        room_id, rate_id = ids
        span = _span(item)
        if kind == "avail":
            out.append(
                AvailabilityItem(
                    span=span,
                    room_type=room_type,
                    partner_room_id=room_id,
                    rooms_to_sell=item["limit"],
                    stop_sell=bool(item["stop_sell"]),
                )
            )
        elif kind == "restr":
            out.append(
                RestrictionItem(
                    span=span,
                    room_type=room_type,
                    rate_plan=plan,
                    partner_room_id=room_id,
                    partner_rate_id=rate_id,
                    stop_sell=bool(item["stop_sell"]),
                    closed_to_arrival=bool(item["cta"]),
                    closed_to_departure=bool(item["ctd"]),
                    min_stay_arrival=item.get("min_stay_arrival"),
                    min_stay_through=item.get("min_stay_through"),
                    max_stay=item.get("max_stay"),
                )
            )
        else:
            out.append(
                RateItem(
                    span=span,
                    room_type=room_type,
                    rate_plan=plan,
                    partner_room_id=room_id,
                    partner_rate_id=rate_id,
                    price=item["price"],
                    currency=item["currency"],
                    extra_adult=item.get("extra_adult"),
                    extra_child=item.get("extra_child"),
                )
            )
    return out, sorted(set(unmapped))


def resolve_inbound(connection: Connection, partner_room_id: str, partner_rate_id: str):
    """Partner room and rate ids -> ``LocalProduct`` for ``connection`` (``Unmapped`` if not)."""
    return ProductMap(connection).resolve(partner_room_id, partner_rate_id)


def partner_ids(
    connection: Connection, room_type: RoomType, rate_plan: RatePlan | None = None
) -> tuple[str, str] | None:
    """The partner's ids of a local product on ``connection``, or None when it is not sold."""
    return ProductMap(connection).partner_ids(room_type, rate_plan)
