"""Searching every enabled supplier at once, with markup, content and a short cache.

Each enabled supplier is asked in parallel on a bounded pool of threads
(``PEMA_SUPPLIER_SEARCH_WORKERS``), each call bounded by the supplier's own
search timeout. A supplier that fails, is held back by Pema's limits or
times out is reported in the answer's ``suppliers`` list; the other
suppliers' offers still come back. The answer is cached for
``PEMA_SUPPLIER_SEARCH_CACHE_SECONDS`` (120 by default) under a key made from
the normalised query, but only when every supplier answered: a failure is
asked about again on the next search.

Prices: the supplier's net, Pema's markup (:func:`apply_markup`) and the
selling price, all integer minor units in the offer's currency.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from .interface import HotelOffer, Rate, SearchQuery, SupplierError
from .models import MarkupRule, Supplier, SupplierHotel
from .registry import supplier_for

logger = logging.getLogger(__name__)
CACHE_PREFIX = "suppliers:search:v1:"
_pool: ThreadPoolExecutor | None = None
_codes: tuple[float, list[str]] | None = None


def pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.PEMA_SUPPLIER_SEARCH_WORKERS, thread_name_prefix="supplier-search"
        )
    return _pool


@dataclass(frozen=True)
class Markup:
    """The markup applied to one net price."""

    amount: int
    kind: str = ""
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "kind": self.kind or None, "value": self.value or None}


def choose_rule(rules: list[MarkupRule], destination: str, currency: str) -> MarkupRule | None:
    """The destination's rule over the general one; amounts only in their own currency."""
    usable = [
        r
        for r in rules
        if r.destination in ("", destination)
        and (r.kind == MarkupRule.Kind.PERCENT or r.currency == currency)
    ]
    usable.sort(key=lambda r: (r.destination == "", r.currency == ""))
    return usable[0] if usable else None


def apply_markup(net: int, rule: MarkupRule | None) -> Markup:
    if rule is None:
        return Markup(0)
    if rule.kind == MarkupRule.Kind.PERCENT:
        return Markup(rule.markup_on(net), "percent", str(rule.percent))
    return Markup(rule.markup_on(net), "amount", f"{rule.amount} {rule.currency}")


def price(rules: list[MarkupRule], destination: str, net: int, currency: str) -> tuple[int, Markup]:
    """(selling price, markup) for a net price."""
    markup = apply_markup(net, choose_rule(rules, destination, currency))
    return net + markup.amount, markup


def cache_key(query: SearchQuery, codes: list[str]) -> str:
    canonical = json.dumps({"q": query.normalised(), "s": sorted(codes)}, sort_keys=True)
    return CACHE_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def _content(supplier: Supplier, offers: list[HotelOffer]) -> dict[str, dict[str, Any]]:
    rows = SupplierHotel.objects.filter(
        supplier=supplier, code__in=[o.hotel_code for o in offers]
    ).values(
        "code",
        "name",
        "category",
        "destination",
        "address",
        "city",
        "latitude",
        "longitude",
        "images",
    )
    return {row["code"]: row for row in rows}


def _rate_json(rate: Rate, selling: int, markup: Markup) -> dict[str, Any]:
    return {
        "rate_key": rate.rate_key,
        "rate_type": rate.rate_type,
        "room": {"code": rate.room_code, "name": rate.room_name},
        "board": {"code": rate.board_code, "name": rate.board_name},
        "rooms": rate.rooms,
        "adults": rate.adults,
        "children": rate.children,
        "net": {"amount": rate.net, "currency": rate.currency},
        "selling": {"amount": selling, "currency": rate.currency},
        "markup": markup.as_dict(),
        "cancellation_policies": [
            {"amount": p.amount, "currency": p.currency, "from": p.starts_at}
            for p in rate.cancellation_policies
        ],
    }


def offers_json(supplier: Supplier, offers: list[HotelOffer]) -> list[dict[str, Any]]:
    """The normalised offers of one supplier: content, rates, net and selling prices."""
    rules = list(supplier.markup_rules.all())
    content = _content(supplier, offers)
    out = []
    for offer in offers:
        hotel = content.get(offer.hotel_code) or {}
        rates = []
        for rate in offer.rates:
            selling, markup = price(rules, offer.destination, rate.net, rate.currency)
            rates.append(_rate_json(rate, selling, markup))
        rates.sort(key=lambda r: r["selling"]["amount"])
        out.append(
            {
                "supplier": supplier.code,
                "hotel": {
                    "code": offer.hotel_code,
                    "name": hotel.get("name") or offer.hotel_name,
                    "category": hotel.get("category") or offer.category,
                    "destination": hotel.get("destination") or offer.destination,
                    "address": hotel.get("address", ""),
                    "city": hotel.get("city", ""),
                    "latitude": hotel.get("latitude"),
                    "longitude": hotel.get("longitude"),
                    "images": (hotel.get("images") or [])[:3],
                    "content": bool(hotel),
                },
                "currency": offer.currency,
                "rates": rates,
            }
        )
    return out


def _ask(supplier: Supplier, query: SearchQuery) -> list[HotelOffer]:
    return supplier_for(supplier).search(query)


def search(query: SearchQuery) -> dict[str, Any]:
    """The answer to ``query`` from every enabled supplier (cached when all answered)."""
    return json.loads(search_rendered(query))


def enabled_codes() -> list[str]:
    """The enabled suppliers' codes, remembered by this process for a few seconds
    (``PEMA_SUPPLIER_CONFIG_CACHE_SECONDS``), so a cached answer costs no query."""
    global _codes
    now = time.monotonic()
    if _codes is None or _codes[0] <= now:
        codes = list(Supplier.objects.filter(enabled=True).values_list("code", flat=True))
        _codes = (now + settings.PEMA_SUPPLIER_CONFIG_CACHE_SECONDS, codes)
    return _codes[1]


def forget_enabled_codes() -> None:
    global _codes
    _codes = None


def search_rendered(query: SearchQuery) -> bytes:
    """:func:`search`'s answer as JSON bytes: a cached answer is kept rendered, so serving
    it again costs one cache read, no query and no encoding."""
    seconds = settings.PEMA_SUPPLIER_SEARCH_CACHE_SECONDS
    key = cache_key(query, enabled_codes())
    if seconds > 0:
        cached = cache.get(key)
        if cached is not None:
            return cached
    suppliers = list(Supplier.objects.filter(enabled=True).prefetch_related("markup_rules"))
    key = cache_key(query, [s.code for s in suppliers])
    answer, all_ok = _ask_all(query, suppliers)
    if all_ok and seconds > 0 and suppliers:
        cache.set(key, _dumps({**answer, "cached": True}), seconds)
    return _dumps({**answer, "cached": False})


def _dumps(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def _ask_all(query: SearchQuery, suppliers: list[Supplier]) -> tuple[dict[str, Any], bool]:
    """Every supplier asked at once; (the answer, whether every one answered)."""
    started = time.monotonic()
    futures = {s.code: (s, time.monotonic(), pool().submit(_ask, s, query)) for s in suppliers}
    statuses, offers = [], []
    all_ok = True
    for code, (supplier, submitted, future) in futures.items():
        # Each has its own timeout; the slack covers the pool queue and the connect.
        remaining = supplier.search_timeout_seconds + 1.0 - (time.monotonic() - submitted)
        status: dict[str, Any] = {"supplier": code, "ok": False, "offers": 0, "error": None}
        try:
            found = future.result(timeout=max(remaining, 0.01))
        except FutureTimeout:
            status["error"] = {
                "code": "supplier_timeout",
                "message": f"{code} did not answer in time.",
            }
            all_ok = False
        except SupplierError as exc:
            status["error"] = {"code": exc.code, "message": exc.message}
            all_ok = False
        except Exception as exc:  # noqa: BLE001 - one supplier's bug must not hide the others
            logger.exception("supplier %s search failed", code)
            status["error"] = {"code": "supplier_error", "message": f"{type(exc).__name__}"}
            all_ok = False
        else:
            shaped = offers_json(supplier, found)
            offers.extend(shaped)
            status.update(ok=True, offers=sum(len(o["rates"]) for o in shaped), hotels=len(shaped))
        status["ms"] = round((time.monotonic() - started) * 1000)
        statuses.append(status)
    # Cheapest first within each currency (amounts of two currencies do not compare).
    offers.sort(
        key=lambda o: (o["currency"], o["rates"][0]["selling"]["amount"] if o["rates"] else 0)
    )
    return {"query": query.normalised(), "suppliers": statuses, "offers": offers}, all_ok
