"""``{% load channel_health %}{% channel_health %}``: the sync health block for admin pages
(a row per connection, of one hotel when given), and the ``lag`` filter."""

from datetime import timedelta

from django import template

from channels.health import connection_health
from channels.models import Connection

register = template.Library()


@register.inclusion_tag("channels/health.html")
def channel_health(hotel=None) -> dict:
    connections = Connection.objects.all()
    if hotel is not None:
        connections = connections.filter(hotel=hotel)
    return {"health": connection_health(connections)}


@register.filter
def lag(value: timedelta | None) -> str:
    """A lag as people read it: "40 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
