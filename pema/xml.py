"""Safe XML parsing and small building helpers (lxml).

Everything Pema reads from a partner goes through :func:`parse_xml`. It refuses
what XML parsers are classically attacked with, rather than trying to make it
harmless:

- any document with a DOCTYPE (that is where billion-laughs entity bombs and
  external entities such as ``file:///etc/passwd`` live; no OpenTravel message
  needs one), checked on the raw bytes before parsing and again on the parsed
  tree, because a UTF-16 document hides the marker from the byte scan;
- documents larger than a size cap (:data:`MAX_XML_BYTES`, overridable per call);
- entity resolution, DTD loading, network access and libxml2's ``huge_tree``
  mode are all off in the parser itself, as a second line of defence.

Failures raise :class:`UnsafeXMLError` or :class:`MalformedXMLError`, both
subclasses of :class:`XMLError`, so a caller can catch one type and still tell
"hostile" from "broken" in its logs.

Partners do not all answer in UTF-8. :func:`xml_encoding` tells a document's
encoding the way an XML parser does (byte-order mark, then the byte pattern of
``<?xml``, then the declaration; UTF-8 otherwise, as XML 1.0 Appendix F
describes), and :func:`decode_xml` turns any answer, even a broken one, into
text for a log. NUL padding after the document (a C server sending its
terminator) is dropped before parsing; a NUL anywhere else leaves the document
malformed, as XML says.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

__all__ = [
    "MAX_XML_BYTES",
    "MalformedXMLError",
    "UnsafeXMLError",
    "XMLError",
    "attr_value",
    "decode_xml",
    "element",
    "local_name",
    "parse_xml",
    "qname",
    "sub_element",
    "to_bytes",
    "xml_encoding",
]

#: Largest document accepted by default. OTA messages Pema exchanges are tens
#: of kilobytes; a full year of ARI for every room type stays well below this.
MAX_XML_BYTES = 2 * 1024 * 1024

# A DOCTYPE or ENTITY declaration anywhere in the prolog. Case-insensitive so
# that odd spellings are refused too (the parser would reject them anyway).
_DTD_MARKER = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)


# Byte-order marks, longest first (UTF-32-LE's starts with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How "<?" starts without a byte-order mark, in the encodings that are not ASCII-compatible.
_WIDE_STARTS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']""")


class XMLError(ValueError):
    """Base class of every error raised while reading XML."""


class UnsafeXMLError(XMLError):
    """The document is refused on security grounds (DTD, entities, size)."""


class MalformedXMLError(XMLError):
    """The document is not well-formed XML."""


def xml_encoding(data: bytes) -> tuple[str, int]:
    """The encoding of an XML document and the length of its byte-order mark.

    Decided as a parser does: a byte-order mark wins, then the way ``<?`` is
    spelt in bytes (UTF-16 and UTF-32 without a mark), then the declaration's
    ``encoding``; a name Python does not know, or none, means UTF-8.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    for start, name in _WIDE_STARTS:
        if data.startswith(start):
            return name, 0
    declared = _DECLARED.match(data[:200])
    if declared:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            return "utf-8", 0
        # "UTF-16" declared without a mark: the byte pattern above already ruled out
        # the wide forms, so the bytes are ASCII-compatible (a mislabelled document).
        if not name.startswith(("utf-16", "utf-32")):
            return name, 0
    return "utf-8", 0


def decode_xml(data: bytes) -> str:
    """The text of an XML document (or of anything a partner answered), never failing.

    Bytes that do not fit the detected encoding become U+FFFD, so a broken answer
    can still be shown and logged.
    """
    encoding, bom = xml_encoding(data)
    return data[bom:].decode(encoding, "replace")


def _without_nul_padding(data: bytes) -> bytes:
    encoding, _ = xml_encoding(data)
    unit = 4 if encoding.startswith("utf-32") else 2 if encoding.startswith("utf-16") else 1
    nul = b"\x00" * unit
    end = len(data)
    while end >= unit and data[end - unit : end] == nul:
        end -= unit
    return data[:end]


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse ``data`` safely and return the root element.

    Raises :class:`UnsafeXMLError` for documents with a DOCTYPE/ENTITY
    declaration or larger than ``max_bytes``, :class:`MalformedXMLError` for
    anything that is not well-formed XML (including an empty body).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else _without_nul_padding(bytes(data))
    if len(raw) > max_bytes:
        raise UnsafeXMLError(f"XML document of {len(raw)} bytes exceeds the {max_bytes} byte cap")
    if _DTD_MARKER.search(raw):
        raise UnsafeXMLError("XML document declares a DOCTYPE or ENTITY; refused")
    if not raw.strip():
        raise MalformedXMLError("empty XML document")
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        # libxml2's own guards (entity amplification, nesting depth) fire as syntax errors.
        if any(
            word in message.lower()
            for word in ("amplification", "entity reference loop", "depth", "huge")
        ):
            raise UnsafeXMLError(f"XML document refused by the parser: {message}") from exc
        raise MalformedXMLError(f"XML document is not well-formed: {message}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXMLError("XML document declares a DOCTYPE; refused")
    return root


def qname(namespace: str | None, tag: str) -> str:
    """Clark notation ``{namespace}tag`` (or just ``tag`` without a namespace)."""
    return f"{{{namespace}}}{tag}" if namespace else tag


def local_name(el: etree._Element) -> str:
    """The tag of ``el`` without its namespace."""
    return etree.QName(el).localname


def attr_value(value: object) -> str:
    """Serialise a Python value the way XML Schema expects it in an attribute."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _set_attributes(el: etree._Element, attrib: Mapping[str, object | None] | None) -> None:
    # None means "leave the attribute out", which keeps builders free of if-chains.
    for key, value in (attrib or {}).items():
        if value is not None:
            el.set(key, attr_value(value))


def element(
    tag: str,
    attrib: Mapping[str, object | None] | None = None,
    *,
    namespace: str | None = None,
    text: str | None = None,
) -> etree._Element:
    """A new root element in ``namespace`` (declared as the default namespace)."""
    nsmap = {None: namespace} if namespace else None
    el = etree.Element(qname(namespace, tag), nsmap=nsmap)
    _set_attributes(el, attrib)
    if text is not None:
        el.text = text
    return el


def sub_element(
    parent: etree._Element,
    tag: str,
    attrib: Mapping[str, object | None] | None = None,
    *,
    text: str | None = None,
) -> etree._Element:
    """A child of ``parent`` in the parent's namespace."""
    namespace = etree.QName(parent).namespace
    el = etree.SubElement(parent, qname(namespace, tag))
    _set_attributes(el, attrib)
    if text is not None:
        el.text = text
    return el


def to_bytes(root: etree._Element, *, pretty: bool = False) -> bytes:
    """Serialise ``root`` as UTF-8 with an XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)
