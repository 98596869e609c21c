"""Money as integer minor units plus an ISO 4217 currency.

Conversions to and from decimal amounts (forms, OTA messages) need the
currency's exponent: 2 for most, 0 for yen-like currencies, 3 for a few.
"""

from __future__ import annotations

import re
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


_DECIMAL = re.compile(r"^(\d+)(?:\.(\d+))?$")


def decimal_string(minor: int, currency: str) -> str:
    """Minor units as a gateway's decimal string, e.g. 150000 INR -> ``"1500.00"``."""
    if minor < 0:
        raise ValueError("Amounts sent to a gateway are never negative.")
    return f"{to_major(minor, currency):.{currency_exponent(currency)}f}"


def exact_minor(text: str, currency: str) -> int:
    """A gateway's decimal string to minor units, refusing anything not exact.

    ``"1500.00"`` and ``"1500"`` are 150000 INR; ``"1500.005"``, ``"1e3"``,
    ``"-1"`` or ``" 1500"`` are not amounts (``ValueError``): money that
    would need rounding was not the amount we asked for.
    """
    match = _DECIMAL.match(text or "")
    if not match:
        raise ValueError(f"Not an amount: {text!r}")
    whole, fraction = match.group(1), (match.group(2) or "")
    exponent = currency_exponent(currency)
    if len(fraction.rstrip("0")) > exponent:
        raise ValueError(f"{text!r} has more digits than {currency} has.")
    fraction = (fraction + "0" * exponent)[:exponent]
    return int(whole) * 10**exponent + (int(fraction) if fraction else 0)
