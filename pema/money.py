"""Money as integer minor units plus an ISO 4217 currency.

Conversions to and from decimal amounts (forms, OTA messages) need the
currency's exponent: 2 for most, 0 for yen-like currencies, 3 for a few.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (2 unless known otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """A decimal amount in major units to integer minor units (rounded half up)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount: {amount!r}") from exc
    scaled = value.scaleb(currency_exponent(currency)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(scaled)


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in major units with the currency's digits."""
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_money(minor: int | None, currency: str) -> str:
    """For people: ``12,500.00 INR``."""
    if minor is None:
        return "—"
    exponent = currency_exponent(currency)
    return f"{to_major(minor, currency):,.{exponent}f} {currency}"
