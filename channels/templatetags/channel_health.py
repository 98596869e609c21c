"""``{% load channel_health %}{% channel_health %}``: the sync health block for admin pages."""

from django import template

from channels.health import connection_health

register = template.Library()


@register.inclusion_tag("channels/health.html")
def channel_health() -> dict:
    return {"health": connection_health()}
