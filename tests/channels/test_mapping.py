"""Product mappings: partner ids to local products and back, rows or code maps."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.models import RatePlan, RoomType
from channels.mapping import ProductMap, Unmapped, partner_ids, resolve_inbound
from channels.models import ChannelProduct
from tests.factories import RatePlanFactory, sellable_hotel


@pytest.fixture
def products(hotel, ota):
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    bar = RatePlan.objects.get(hotel=hotel, code="BAR")
    ChannelProduct.objects.create(connection=ota, room_type=exq, partner_room_id="1001")
    ChannelProduct.objects.create(
        connection=ota, room_type=exq, rate_plan=bar, partner_room_id="1001", partner_rate_id="77"
    )
    return exq, bar


def test_rows_resolve_partner_ids_both_ways(ota, products):
    exq, bar = products
    found = resolve_inbound(ota, "1001", "77")
    assert (found.room_type, found.rate_plan) == (exq, bar)
    assert partner_ids(ota, exq) == ("1001", "")
    assert partner_ids(ota, exq, bar) == ("1001", "77")
    ext = RoomType.objects.get(hotel=ota.hotel, code="EXT")
    assert partner_ids(ota, ext) is None  # not sold on this channel


def test_an_inactive_product_is_not_sent_but_still_resolves_a_reservation(ota, products):
    exq, bar = products
    ChannelProduct.objects.filter(rate_plan=bar).update(active=False)
    assert partner_ids(ota, exq, bar) is None
    assert ProductMap(ota).partner_ids(exq, bar, active_only=False) == ("1001", "77")
    assert resolve_inbound(ota, "1001", "77").rate_plan == bar


def test_unknown_partner_ids_say_what_is_missing(ota, products):
    with pytest.raises(Unmapped) as room:
        resolve_inbound(ota, "9999", "77")
    assert room.value.code == "unmapped_room"
    with pytest.raises(Unmapped) as rate:
        resolve_inbound(ota, "1001", "78")
    assert rate.value.code == "unmapped_rate" and "EXQ" in rate.value.message


def test_without_rows_the_code_maps_apply_as_ids_has_always_done(conn):
    conn.room_type_map = {"EXQ": "EXQ-IDS"}
    exq = RoomType.objects.get(hotel=conn.hotel, code="EXQ")
    bar = RatePlan.objects.get(hotel=conn.hotel, code="BAR")
    assert resolve_inbound(conn, "EXQ-IDS", "BAR").room_type == exq
    assert resolve_inbound(conn, "EXT", "BAR").room_type.code == "EXT"
    assert partner_ids(conn, exq, bar) == ("EXQ-IDS", "BAR")
    with pytest.raises(Unmapped):
        resolve_inbound(conn, "EXQ", "BAR")  # EXQ goes by another code here


def test_each_product_and_each_partner_id_is_mapped_once(ota, products):
    exq, bar = products
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelProduct.objects.create(connection=ota, room_type=exq, partner_room_id="1002")
    with pytest.raises(IntegrityError), transaction.atomic():
        ext = RoomType.objects.get(hotel=ota.hotel, code="EXT")
        ChannelProduct.objects.create(connection=ota, room_type=ext, partner_room_id="1001")


def test_a_mapping_is_checked_for_what_staff_would_get_wrong(ota, products):
    exq, bar = products
    ext = RoomType.objects.get(hotel=ota.hotel, code="EXT")
    other = sellable_hotel(code="OTHER", rooms={"DBL": 1}, days=2)
    cases = [
        (dict(room_type=ext, partner_room_id="1001"), "partner_room_id", "mapped to EXQ"),
        (dict(room_type=exq, partner_room_id="2002"), "partner_room_id", "'1001'"),
        (dict(room_type=ext, rate_plan=bar, partner_room_id="3"), "partner_rate_id", "needs"),
        (dict(room_type=ext, partner_room_id="3", partner_rate_id="9"), "partner_rate_id", "no"),
        (dict(room_type=other.room_types.get(), partner_room_id="4"), "room_type", "hotel"),
    ]
    for values, field, text in cases:
        with pytest.raises(ValidationError) as error:
            ChannelProduct(connection=ota, **values).full_clean()
        assert field in error.value.message_dict, values
        assert text in " ".join(error.value.message_dict[field]), values
    only_exq = RatePlanFactory(hotel=ota.hotel, code="EXQONLY", room_types=[exq])
    with pytest.raises(ValidationError, match="does not sell EXT"):
        ChannelProduct(
            connection=ota, room_type=ext, rate_plan=only_exq, partner_room_id="5",
            partner_rate_id="5",
        ).full_clean()  # fmt: skip
