"""Shared pieces of the OpenTravel 2003/05 codec.

- the namespace, root attributes (``Version``, ``EchoToken``, ``TimeStamp``) and
  the response envelope (``Success``/``Warnings`` or ``Errors``) every message
  shares;
- :class:`OTAResponse`, the one result type every ``*_RS`` parser returns;
- money: Pema keeps integer minor units, OTA carries decimal amounts; the
  exponent comes from ``DecimalPlaces`` where the message has it, otherwise
  from a small ISO 4217 table (default 2);
- lenient readers for dates, booleans and integers, because partner messages
  (and OpenTravel's own samples) leave out much of what the schema allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Generic, TypeVar

from lxml import etree

from pema import money
from pema.xml import element, local_name, parse_xml, qname, sub_element

OTA_NS = "http://www.opentravel.org/OTA/2003/05"
#: The ``Version`` attribute Pema writes on the messages it builds.
OTA_VERSION = "1.000"

# EWT: OpenTravel Error Warning Type code list.
EWT_BUSINESS_RULE = 3
EWT_AUTHENTICATION = 4
EWT_AUTHORIZATION = 6
EWT_REQUIRED_FIELD_MISSING = 10
EWT_PROCESSING_EXCEPTION = 12
EWT_APPLICATION_ERROR = 13

# ERR: OpenTravel Error code list (the ones Pema and IDS Next use).
ERR_NO_AVAILABILITY = 322
ERR_BOOKING_REFERENCE_NOT_FOUND = 97
ERR_BOOKING_ALREADY_CANCELLED = 95
ERR_INVALID_ROOM_TYPE = 402
ERR_INVALID_RATE_CODE = 249
ERR_INVALID_HOTEL_CODE = 392
ERR_SYSTEM_ERROR = 448

# UIT: Unique ID types.
UIT_HOTEL = "10"
UIT_RESERVATION = "14"
UIT_CANCELLATION = "15"
UIT_REFERENCE = "16"
UIT_CONFIRMATION_NUMBER = "40"

# AQC: age qualifying codes.
AQC_ADULT = 10
AQC_CHILD = 8
AQC_INFANT = 7


class OTAParseError(ValueError):
    """A well-formed document that is not the OTA message the parser expected."""


# --------------------------------------------------------------------------- money


def currency_exponent(currency: str | None, decimal_places: int | None = None) -> int:
    """Digits after the decimal point for ``currency`` (``DecimalPlaces`` wins if given)."""
    if decimal_places is not None:
        return decimal_places
    return money.currency_exponent(currency or "")


def minor_to_decimal(amount: int, currency: str | None, decimal_places: int | None = None) -> str:
    """Integer minor units -> the decimal string OTA carries (``12345``, INR -> ``"123.45"``)."""
    exponent = currency_exponent(currency, decimal_places)
    value = Decimal(amount).scaleb(-exponent)
    return format(value.quantize(Decimal(1).scaleb(-exponent)), "f")


def decimal_to_minor(value: str, currency: str | None, decimal_places: int | None = None) -> int:
    """An OTA decimal amount -> integer minor units, rounding half up past the exponent."""
    exponent = currency_exponent(currency, decimal_places)
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise OTAParseError(f"not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise OTAParseError(f"not a finite amount: {value!r}")
    return int(amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ----------------------------------------------------------------------- results


@dataclass(frozen=True, kw_only=True)
class OTAError:
    """One ``Error`` (or ``Warning``) of a response: EWT type, ERR code, text."""

    type: int
    code: int | None = None
    text: str = ""


#: Warnings have the same shape as errors.
OTAWarning = OTAError

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class OTAResponse(Generic[T]):  # noqa: UP046 - PEP 695 syntax needs Python 3.12
    """The parsed result of any ``*_RS``: envelope plus the kind-specific ``data``.

    ``success`` is true when the message carries ``Success``; it then may carry
    ``warnings``. Otherwise ``errors`` holds at least one error and ``data`` is
    usually ``None``.
    """

    success: bool
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION
    warnings: tuple[OTAError, ...] = ()
    errors: tuple[OTAError, ...] = ()
    data: T | None = None

    @property
    def error_codes(self) -> tuple[int | None, ...]:
        """The ERR codes of the errors, in order (handy for assertions and logs)."""
        return tuple(e.code for e in self.errors)

    def has_error(self, *, type: int | None = None, code: int | None = None) -> bool:  # noqa: A002
        """Whether any error matches the given EWT ``type`` and/or ERR ``code``."""
        return any(
            (type is None or e.type == type) and (code is None or e.code == code)
            for e in self.errors
        )


@dataclass(frozen=True)
class DaysOfWeek:
    """OTA day-of-week flags (``Mon Tue Weds Thur Fri Sat Sun``); all true by default."""

    mon: bool = True
    tue: bool = True
    weds: bool = True
    thur: bool = True
    fri: bool = True
    sat: bool = True
    sun: bool = True

    _ATTRS = ("Mon", "Tue", "Weds", "Thur", "Fri", "Sat", "Sun")

    @property
    def all_days(self) -> bool:
        return all(self.as_tuple())

    def as_tuple(self) -> tuple[bool, ...]:
        """Monday first, like :meth:`datetime.date.weekday`."""
        return (self.mon, self.tue, self.weds, self.thur, self.fri, self.sat, self.sun)

    def applies_to(self, day: date) -> bool:
        return self.as_tuple()[day.weekday()]

    def attributes(self) -> dict[str, bool | None]:
        # Every day set means "no pattern": leave the flags out, which the
        # schema reads the same way and keeps messages short.
        if self.all_days:
            return {}
        return dict(zip(self._ATTRS, self.as_tuple(), strict=True))

    @classmethod
    def from_weekdays(cls, weekdays: Iterable[int] | None) -> DaysOfWeek:
        """Flags from weekday numbers (0 = Monday); None means every day."""
        if weekdays is None:
            return cls()
        chosen = set(weekdays)
        return cls(*(day in chosen for day in range(7)))

    @classmethod
    def from_element(cls, el: etree._Element) -> DaysOfWeek:
        # A flag that is absent applies (OTA: the pattern only restricts what it names).
        values = [read_bool(el.get(name), default=True) for name in cls._ATTRS]
        return cls(*values)


ALL_DAYS = DaysOfWeek()


# ---------------------------------------------------------------------- readers


def read_bool(value: str | None, *, default: bool | None = None) -> bool | None:
    """xs:boolean (``true``/``false``/``1``/``0``)."""
    if value is None:
        return default
    value = value.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise OTAParseError(f"not a boolean: {value!r}")


def read_int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError as exc:
        raise OTAParseError(f"not an integer: {value!r}") from exc


def read_date(value: str | None) -> date | None:
    """A date, also accepting an xs:dateTime (OTA's DateOrTimeOrDateTimeType)."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise OTAParseError(f"not a date: {value!r}") from exc


def read_datetime(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        # A bad TimeStamp is not worth rejecting a message for.
        return None


def read_amount(
    el: etree._Element,
    attr: str,
    currency: str | None = None,
    decimal_places: int | None = None,
) -> int | None:
    """Attribute ``attr`` of ``el`` as minor units.

    The element's own ``CurrencyCode``/``DecimalPlaces`` win over the ones given
    (which come from an enclosing element, e.g. ``Rate`` around ``BaseByGuestAmt``).
    """
    value = el.get(attr)
    if value is None:
        return None
    currency = el.get("CurrencyCode") or currency
    places = read_int(el.get("DecimalPlaces"))
    return decimal_to_minor(value, currency, places if places is not None else decimal_places)


def money_attrs(currency: str | None) -> dict[str, object | None]:
    """``CurrencyCode`` and ``DecimalPlaces`` for an element carrying an amount."""
    if not currency:
        return {}
    return {"CurrencyCode": currency, "DecimalPlaces": currency_exponent(currency)}


def text_of(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip()


def ota(tag: str) -> str:
    """``{OTA namespace}tag``."""
    return qname(OTA_NS, tag)


def path(*tags: str) -> str:
    """An ElementPath in the OTA namespace: ``path("A", "B")`` -> ``{ns}A/{ns}B``."""
    return "/".join(ota(t) for t in tags)


def find(el: etree._Element, *tags: str) -> etree._Element | None:
    return el.find(path(*tags))


def findall(el: etree._Element, *tags: str) -> list[etree._Element]:
    return el.findall(path(*tags))


# ----------------------------------------------------------------- root / envelope


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_root(
    name: str,
    *,
    echo_token: str | None,
    timestamp: datetime | None,
    version: str,
    extra: dict[str, object | None] | None = None,
) -> etree._Element:
    """The root element of a message with the standard payload attributes."""
    attrib: dict[str, object | None] = {
        "EchoToken": echo_token,
        "TimeStamp": timestamp or now_utc(),
        "Version": version,
    }
    attrib.update(extra or {})
    return element(name, attrib, namespace=OTA_NS)


def parse_root(data: bytes | str, expected: str | None = None) -> etree._Element:
    """Safely parse ``data`` and check it is an OTA message (named ``expected`` if given)."""
    root = parse_xml(data)
    if etree.QName(root).namespace != OTA_NS:
        raise OTAParseError(f"root element {root.tag!r} is not in the OTA 2003/05 namespace")
    if expected is not None and local_name(root) != expected:
        raise OTAParseError(f"expected {expected}, got {local_name(root)}")
    return root


def message_name(data: bytes | str) -> str:
    """The root element name of an OTA document (e.g. ``OTA_HotelAvailNotifRQ``)."""
    return local_name(parse_root(data))


def add_issues(
    parent: etree._Element, container: str, tag: str, issues: Iterable[OTAError]
) -> None:
    box = sub_element(parent, container)
    for issue in issues:
        sub_element(
            box,
            tag,
            {"Type": issue.type, "Code": issue.code, "ShortText": issue.text or None},
            text=issue.text or None,
        )


def add_envelope_start(root: etree._Element, response: OTAResponse) -> bool:
    """Write ``Success`` (+ ``Warnings``) or ``Errors``; return whether it was a success.

    Callers then append their success payload; for an error response ``Errors``
    is the only content the schemas allow after the root, so nothing follows.
    """
    if response.success:
        sub_element(root, "Success")
        if response.warnings:
            add_issues(root, "Warnings", "Warning", response.warnings)
        return True
    errors = response.errors or (
        OTAError(type=EWT_APPLICATION_ERROR, code=ERR_SYSTEM_ERROR, text="Unspecified error"),
    )
    add_issues(root, "Errors", "Error", errors)
    return False


def _read_issues(root: etree._Element, container: str, tag: str) -> tuple[OTAError, ...]:
    issues = []
    for el in findall(root, container, tag):
        issue_type = read_int(el.get("Type"))
        issues.append(
            OTAError(
                type=issue_type if issue_type is not None else EWT_APPLICATION_ERROR,
                code=read_int(el.get("Code")),
                text=el.get("ShortText") or text_of(el) or "",
            )
        )
    return tuple(issues)


def read_response(
    data: bytes | str,
    expected: str,
    read_data: Callable[[etree._Element], T] | None = None,
) -> OTAResponse[T]:
    """Parse the envelope of an ``*_RS`` and, on success, its payload with ``read_data``."""
    root = parse_root(data, expected)
    success = find(root, "Success") is not None
    errors = _read_issues(root, "Errors", "Error")
    if errors:
        success = False
    payload = read_data(root) if (success and read_data is not None) else None
    return OTAResponse(
        success=success,
        echo_token=root.get("EchoToken"),
        timestamp=read_datetime(root.get("TimeStamp")),
        version=root.get("Version") or OTA_VERSION,
        warnings=_read_issues(root, "Warnings", "Warning"),
        errors=errors,
        data=payload,
    )


def read_header(root: etree._Element) -> dict[str, object]:
    """``echo_token``/``timestamp``/``version`` keyword arguments read from a root element."""
    return {
        "echo_token": root.get("EchoToken"),
        "timestamp": read_datetime(root.get("TimeStamp")),
        "version": root.get("Version") or OTA_VERSION,
    }
