"""Payment gateways, one package each, made from a hotel's ``GatewayConfig``."""

from __future__ import annotations

from ..models import Gateway, GatewayConfig
from .payu.gateway import PayUCredentials, PayUGateway


class NotConfigured(Exception):
    """The hotel has no active gateway (or no key and salt)."""


def gateway_for(config: GatewayConfig) -> PayUGateway:
    """The gateway client for a hotel's config."""
    if config.gateway != Gateway.PAYU:
        raise NotConfigured(f"Unknown gateway {config.gateway!r}.")
    creds = config.credentials or {}
    if not creds.get("key") or not creds.get("salt"):
        raise NotConfigured(f"{config.hotel.code}: the PayU key and salt are not set.")
    return PayUGateway(
        PayUCredentials(
            key=creds["key"], salt=creds["salt"], mode=config.mode, base_url=config.base_url
        )
    )


def hotel_gateway(hotel_id: int) -> PayUGateway:
    config = (
        GatewayConfig.objects.select_related("hotel")
        .filter(hotel_id=hotel_id, is_active=True)
        .first()
    )
    if config is None:
        raise NotConfigured("The hotel takes no online payments.")
    return gateway_for(config)
