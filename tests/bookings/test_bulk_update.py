"""The bulk update: relative prices, a preview before applying, warnings, and no plan's
discount overwritten unasked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from bookings.ari import AriChanges, apply_ari_update, preview_ari_update
from bookings.errors import InvalidStay
from bookings.models import ChangeEvent, RateDay, RatePlan
from tests.factories import RatePlanFactory, sellable_hotel

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotel():
    hotel = sellable_hotel(rooms={"DBL": 2, "TWN": 1}, price=2_000_000, days=40)
    bar = hotel.rate_plans.get(code="BAR")
    nrf = RatePlanFactory(
        hotel=hotel, code="NRF", parent=bar, derivation=RatePlan.Derivation.PERCENT,
        derivation_value=10, room_types=list(hotel.room_types.all()),
    )  # fmt: skip
    RateDay.objects.filter(rate_plan=nrf).update(price=1_800_000)
    ChangeEvent.objects.all().delete()
    return hotel


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def prices(hotel, day, rt="DBL"):
    return dict(
        RateDay.objects.filter(room_type__code=rt, date=day).values_list("rate_plan__code", "price")
    )


def test_a_price_with_no_plan_ticked_keeps_the_derived_discount(hotel):
    day = hotel.today() + timedelta(days=2)
    apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=2_500_000))
    assert prices(hotel, day) == {"BAR": 2_500_000, "NRF": 2_250_000}


def test_relative_changes_move_each_day_and_derived_plans_follow(hotel):
    day = hotel.today() + timedelta(days=2)
    RateDay.objects.filter(rate_plan__code="BAR", date=day + timedelta(days=1)).update(
        price=3_000_000
    )
    apply_ari_update(
        hotel, start=day, end=day + timedelta(days=1), changes=AriChanges(price_percent=Decimal(10))
    )
    assert prices(hotel, day) == {"BAR": 2_200_000, "NRF": 1_980_000}
    assert prices(hotel, day + timedelta(days=1)) == {"BAR": 3_300_000, "NRF": 2_970_000}
    apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price_amount=-50_000))
    assert prices(hotel, day) == {"BAR": 2_150_000, "NRF": 1_935_000}
    event = ChangeEvent.objects.last()
    assert event.payload["rate_fields"] == {"price": "-50000 minor units"}
    with pytest.raises(InvalidStay):
        apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price_amount=-9_000_000))


def test_the_preview_counts_cells_and_matches_what_is_applied(hotel):
    start = hotel.today() + timedelta(days=1)
    end = start + timedelta(days=6)
    kwargs = dict(
        start=start, end=end, weekdays={5, 6}, changes=AriChanges(price_percent=Decimal("12.5"))
    )
    preview = preview_ari_update(hotel, **kwargs)
    # Two weekend days × 2 room types × (BAR and NRF following it).
    assert preview.rate_cells == 8 and preview.inventory_cells == 0
    sample = preview.samples[0]
    assert sample.before == "price 20,000.00 INR" and sample.after == "price 22,500.00 INR"
    assert any("Not ticked but changed: NRF" in w for w in preview.warnings)
    assert not ChangeEvent.objects.exists()
    apply_ari_update(hotel, **kwargs)
    changed = RateDay.objects.filter(date__gte=start, date__lte=end).exclude(
        price__in=[2_000_000, 1_800_000]
    )
    assert changed.count() == 8
    assert preview_ari_update(hotel, **kwargs).samples[0].before == "price 22,500.00 INR"


def test_ticking_a_derived_plan_warns_that_its_derivation_is_overwritten(hotel):
    day = hotel.today() + timedelta(days=1)
    nrf = hotel.rate_plans.get(code="NRF")
    preview = preview_ari_update(
        hotel, start=day, end=day, rate_plans=[nrf], changes=AriChanges(price=1_000_000)
    )
    assert preview.rate_cells == 2
    assert any("NRF derives its price from BAR" in w for w in preview.warnings)


def bulk(staff, hotel, **fields):
    day = hotel.today() + timedelta(days=3)
    data = {"start": day.isoformat(), "end": day.isoformat(),
            "weekdays": [str(d) for d in range(7)]} | fields  # fmt: skip
    return staff.post(reverse("admin:bookings_hotel_ari", args=[hotel.pk]), data)


def test_the_form_previews_first_and_applies_only_when_warnings_are_read(staff, hotel):
    day = hotel.today() + timedelta(days=3)
    page = " ".join(bulk(staff, hotel, price="+10 %").content.decode().split())
    assert "<strong>4</strong> cells change (0 availability, 4 rate)" in page
    assert "No rate plan is ticked: the price applies to BAR" in page
    assert prices(hotel, day)["BAR"] == 2_000_000
    page = bulk(staff, hotel, price="+10 %", apply="1").content.decode()
    assert "Read the warnings and tick this to apply" in page
    assert prices(hotel, day)["BAR"] == 2_000_000
    response = bulk(staff, hotel, price="+10 %", apply="1", confirm_warnings="on")
    assert response.status_code == 302
    assert prices(hotel, day) == {"BAR": 2_200_000, "NRF": 1_980_000}
    assert ChangeEvent.objects.count() == 1


@pytest.mark.parametrize("text", ["10 %", "abc", "+1.234 %", "12.345", "1E+30"])
def test_unreadable_price_changes_are_form_errors(staff, hotel, text):
    page = bulk(staff, hotel, price=text).content.decode()
    assert "errorlist" in page and "Preview</h2>" not in page


def test_the_bulk_form_is_prefilled_from_a_grid_selection(staff, hotel):
    start = hotel.today() + timedelta(days=2)
    dbl = hotel.room_types.get(code="DBL")
    bar = hotel.rate_plans.get(code="BAR")
    page = staff.get(
        reverse("admin:bookings_hotel_ari", args=[hotel.pk]),
        {"start": start.isoformat(), "end": (start + timedelta(days=3)).isoformat(),
         "room_types": dbl.pk, "rate_plans": bar.pk},
    ).content.decode()  # fmt: skip
    assert f'value="{start.isoformat()}"' in page
    assert f'value="{dbl.pk}" id="id_room_types_0" checked' in page or (
        f'value="{dbl.pk}"' in page and "checked" in page
    )
