"""Errors and warnings with every attribute OpenTravel gives them, and document comments.

:class:`pema.ota.common.OTAError` keeps what IDS Next uses (type, numeric code,
text). Partners such as Booking.com say more in the same elements: a
``ShortText`` that carries their own symbolic code (``NOT_A_VALID_DATE``), a
``Status`` (``NotProcessed``) and a ``RecordID`` naming the request element
that failed. :class:`OTAIssue` keeps all of that, as written.

Some partners also put facts in XML comments around the root element
(Booking.com ends every answer with ``<!-- RUID: ... -->``);
:func:`document_comments` reads them after a safe parse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from pema.ota.common import findall, text_of
from pema.xml import sub_element

#: ``Status`` of an issue whose request element was not applied.
STATUS_NOT_PROCESSED = "NotProcessed"

# ShortText is StringLength1to64 in the schemas.
SHORT_TEXT_MAX = 64


@dataclass(frozen=True, kw_only=True)
class OTAIssue:
    """One ``Error`` or ``Warning``, every attribute kept as a string except ``type``.

    ``type`` is the EWT code (required by the schema, but left out by some
    partners, hence optional); ``code`` the OTA ERR code (``OTA_CodeType`` is a
    string pattern); ``short_text`` the ``ShortText`` attribute; ``text`` the
    element's content.
    """

    type: int | None = None
    code: str | None = None
    short_text: str = ""
    text: str = ""
    status: str = ""
    record_id: str = ""

    @property
    def not_processed(self) -> bool:
        return self.status == STATUS_NOT_PROCESSED


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None  # a non-numeric Type is the partner's quirk, not worth a failure


def read_issues(root: etree._Element, container: str, tag: str) -> tuple[OTAIssue, ...]:
    """The ``container/tag`` children of ``root`` (``Errors/Error``, ``Warnings/Warning``)."""
    return tuple(
        OTAIssue(
            type=_int_or_none(el.get("Type")),
            code=el.get("Code"),
            short_text=el.get("ShortText") or "",
            text=text_of(el) or "",
            status=el.get("Status") or "",
            record_id=el.get("RecordID") or "",
        )
        for el in findall(root, container, tag)
    )


def add_issues(
    parent: etree._Element, container: str, tag: str, issues: Iterable[OTAIssue]
) -> etree._Element:
    """Write ``container`` with one ``tag`` per issue (schema order of attributes kept)."""
    box = sub_element(parent, container)
    for issue in issues:
        sub_element(
            box,
            tag,
            {
                "Type": issue.type,
                "ShortText": issue.short_text[:SHORT_TEXT_MAX] or None,
                "Code": issue.code,
                "Status": issue.status or None,
                "RecordID": issue.record_id or None,
            },
            text=issue.text or None,
        )
    return box


def document_comments(root: etree._Element) -> tuple[str, ...]:
    """Text of the comments before and after the root element, in document order."""
    before = [c for c in root.itersiblings(preceding=True) if isinstance(c, etree._Comment)]
    after = [c for c in root.itersiblings() if isinstance(c, etree._Comment)]
    return tuple((c.text or "").strip() for c in [*reversed(before), *after])
