"""OTA_PingRQ / OTA_PingRS: connectivity check; the partner echoes ``EchoData`` back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from pema.ota.common import (
    OTA_VERSION,
    OTAResponse,
    add_envelope_start,
    find,
    new_root,
    parse_root,
    read_header,
    read_response,
)
from pema.xml import sub_element, to_bytes

PING_RQ = "OTA_PingRQ"
PING_RS = "OTA_PingRS"


@dataclass(frozen=True, kw_only=True)
class PingRQ:
    echo_data: str
    echo_token: str | None = None
    timestamp: datetime | None = None
    version: str = OTA_VERSION


def build_ping_rq(rq: PingRQ) -> bytes:
    root = new_root(PING_RQ, echo_token=rq.echo_token, timestamp=rq.timestamp, version=rq.version)
    sub_element(root, "EchoData", text=rq.echo_data)
    return to_bytes(root)


def parse_ping_rq(data: bytes | str) -> PingRQ:
    root = parse_root(data, PING_RQ)
    echo = find(root, "EchoData")
    # EchoData is echoed verbatim, so keep its whitespace.
    return PingRQ(echo_data=(echo.text or "") if echo is not None else "", **read_header(root))


def build_ping_rs(rs: OTAResponse[str]) -> bytes:
    """``rs.data`` is the echoed text."""
    root = new_root(PING_RS, echo_token=rs.echo_token, timestamp=rs.timestamp, version=rs.version)
    if add_envelope_start(root, rs):
        sub_element(root, "EchoData", text=rs.data or "")
    return to_bytes(root)


def _read_echo(root: etree._Element) -> str:
    echo = find(root, "EchoData")
    return (echo.text or "") if echo is not None else ""


def parse_ping_rs(data: bytes | str) -> OTAResponse[str]:
    return read_response(data, PING_RS, _read_echo)
