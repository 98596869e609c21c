"""The caller's network address, as the audit log records it and the rate limits count it.

``REMOTE_ADDR`` is the connection's peer. ``X-Forwarded-For`` is the caller's
to forge, so it is read only when the deployment says how many reverse
proxies in front of the web process append to it (``PEMA_API_PROXIES``, which
is DRF's ``NUM_PROXIES``): the address is then the one the outermost trusted
proxy saw, counted from the right of the header.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest
from rest_framework.settings import api_settings

# One machine usually holds a whole IPv6 /64; counting per address would give it
# 2**64 separate budgets.
IPV6_GROUP_PREFIX = 64


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address (a valid IP), or None when there is none to trust."""
    candidate = request.META.get("REMOTE_ADDR")
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


def client_group(request: HttpRequest) -> str:
    """What a per-client limit counts: the IPv4 address, or the IPv6 address's /64."""
    ip = client_ip(request)
    if ip is None:
        return "unknown"
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_GROUP_PREFIX}", strict=False))
    return ip
