"""pema.xml refuses hostile documents and reports broken ones."""

from __future__ import annotations

import pytest

from pema import ota
from pema.xml import (
    MAX_XML_BYTES,
    MalformedXMLError,
    UnsafeXMLError,
    XMLError,
    decode_xml,
    element,
    parse_xml,
    sub_element,
    to_bytes,
    xml_encoding,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OTA_PingRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0">
  <EchoData>&lol9;</EchoData>
</OTA_PingRQ>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE OTA_PingRQ [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OTA_PingRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0">
  <EchoData>&xxe;</EchoData>
</OTA_PingRQ>"""

PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE OTA_PingRQ SYSTEM "http://example.com/ota.dtd">
<OTA_PingRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0"><EchoData/></OTA_PingRQ>"""

PING = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<OTA_PingRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0">'
    b"<EchoData>hello</EchoData></OTA_PingRQ>"
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PLAIN_DOCTYPE, id="doctype"),
        pytest.param(
            EXTERNAL_ENTITY.decode().replace('<?xml version="1.0"?>', "").encode("utf-16"),
            id="utf16-doctype",
        ),
    ],
)
def test_hostile_documents_are_refused(data):
    with pytest.raises(UnsafeXMLError):
        parse_xml(data)
    # The OTA parsers go through the same door.
    with pytest.raises(UnsafeXMLError):
        ota.parse_ping_rq(data)


def test_oversized_document_is_refused():
    big = PING.replace(b"hello", b"x" * (MAX_XML_BYTES + 1))
    with pytest.raises(UnsafeXMLError):
        parse_xml(big)
    with pytest.raises(UnsafeXMLError):
        parse_xml(PING, max_bytes=10)
    assert parse_xml(big, max_bytes=len(big)) is not None


@pytest.mark.parametrize("data", [PING[:-20], b"", b"not xml at all", b"<a><b></a>"])
def test_broken_documents_are_malformed(data):
    with pytest.raises(MalformedXMLError):
        parse_xml(data)


def test_both_errors_share_a_base_class():
    assert issubclass(UnsafeXMLError, XMLError) and issubclass(MalformedXMLError, XMLError)


def test_well_formed_document_parses():
    assert ota.parse_ping_rq(PING).echo_data == "hello"


def test_building_helpers():
    root = element("Root", {"A": 1, "B": None, "C": True}, namespace="urn:x")
    sub_element(root, "Child", {"D": "d"}, text="t")
    data = to_bytes(root)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b'<Root xmlns="urn:x" A="1" C="true"><Child D="d">t</Child></Root>' in data


def reencoded(data: bytes, encoding: str, *, declare: str | None = None) -> bytes:
    text = data.decode("utf-8").replace('encoding="UTF-8"', f'encoding="{declare or encoding}"')
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(PING, ("utf-8", 0), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + PING, ("utf-8", 3), id="utf-8-bom"),
        pytest.param(reencoded(PING, "utf-16", declare="UTF-16"), ("utf-16-le", 2), id="utf-16"),
        pytest.param(reencoded(PING, "utf-16-le", declare="UTF-16"), ("utf-16-le", 0), id="le"),
        pytest.param(reencoded(PING, "utf-16-be", declare="UTF-16"), ("utf-16-be", 0), id="be"),
        pytest.param(reencoded(PING, "utf-32", declare="UTF-32"), ("utf-32-le", 4), id="utf-32"),
        pytest.param(reencoded(PING, "latin-1", declare="ISO-8859-1"), ("iso8859-1", 0), id="l1"),
        pytest.param(reencoded(PING, "utf-8", declare="X-NOT-A-CODEC"), ("utf-8", 0), id="bogus"),
        pytest.param(b"plain text", ("utf-8", 0), id="not-xml"),
    ],
)
def test_the_encoding_comes_from_the_mark_then_the_declaration(data, expected):
    assert xml_encoding(data) == expected
    assert "hello" in decode_xml(data) or data == b"plain text"


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        ("utf-16", "UTF-16"),
        ("utf-16-le", "UTF-16"),
        ("utf-16-be", "UTF-16"),
        ("utf-32", "UTF-32"),
        ("latin-1", "ISO-8859-1"),
    ],
)
def test_documents_in_other_encodings_parse(encoding, declared):
    data = reencoded(PING.replace(b"hello", "h\u00e9llo".encode()), encoding, declare=declared)
    assert ota.parse_ping_rq(data).echo_data == "h\u00e9llo"
    assert decode_xml(data).startswith('<?xml version="1.0"')


@pytest.mark.parametrize(("encoding", "unit"), [("utf-8", 1), ("utf-16", 2), ("utf-32", 4)])
def test_nul_padding_after_the_document_is_ignored(encoding, unit):
    data = reencoded(PING, encoding) + b"\x00" * unit * 3
    assert ota.parse_ping_rq(data).echo_data == "hello"


def test_a_nul_inside_the_document_is_malformed():
    with pytest.raises(MalformedXMLError):
        parse_xml(PING.replace(b"hello", b"hel\x00lo"))
    assert "\x00" in decode_xml(PING.replace(b"hello", b"hel\x00lo"))
