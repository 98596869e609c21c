"""pema.xml refuses hostile documents and reports broken ones."""

from __future__ import annotations

import pytest

from pema import ota
from pema.xml import (
    MAX_XML_BYTES,
    MalformedXMLError,
    UnsafeXMLError,
    XMLError,
    element,
    parse_xml,
    sub_element,
    to_bytes,
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
