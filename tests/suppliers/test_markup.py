"""Markup: a percentage or an amount, the destination's rule over the general one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suppliers.models import MarkupRule
from suppliers.search import price

pytestmark = pytest.mark.django_db


def rule(supplier, **values) -> MarkupRule:
    made = MarkupRule.objects.create(supplier=supplier, **values)
    return MarkupRule.objects.get(pk=made.pk)  # as the search loads it


def test_no_rule_sells_at_net(supplier):
    assert price([], "PMI", 20526, "EUR") == (20526, price([], "PMI", 0, "EUR")[1])


def test_a_percentage_rounds_half_up_in_minor_units(supplier):
    general = rule(supplier, kind="percent", percent=Decimal("12.5"))
    selling, markup = price([general], "PMI", 20526, "EUR")
    assert (selling, markup.amount, markup.kind, markup.value) == (23092, 2566, "percent", "12.50")


def test_an_amount_applies_only_in_its_currency(supplier):
    fixed = rule(supplier, kind="amount", amount=1500, currency="EUR")
    assert price([fixed], "PMI", 20526, "EUR")[0] == 22026
    assert price([fixed], "GOI", 1648000, "INR")[0] == 1648000


def test_the_destinations_rule_wins_over_the_general_one(supplier):
    general = rule(supplier, kind="percent", percent=Decimal("10"))
    goa = rule(supplier, destination="GOI", kind="amount", amount=50000, currency="INR")
    rules = [general, goa]
    assert price(rules, "GOI", 1000000, "INR")[0] == 1050000
    assert price(rules, "BOM", 1000000, "INR")[0] == 1100000
