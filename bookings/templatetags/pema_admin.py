"""Template tags for the admin index: links to each hotel's calendar and bulk update."""

from django import template

from bookings.models import Hotel

register = template.Library()


@register.simple_tag
def hotels_for_index() -> list[Hotel]:
    return list(Hotel.objects.order_by("code"))
