"""Template tags for the admin index: links to each hotel's calendar and bulk update, and
the booking-engine webhooks' delivery health."""

from django import template

from bookings.models import Hotel

register = template.Library()


@register.simple_tag
def hotels_for_index() -> list[Hotel]:
    return list(Hotel.objects.order_by("code"))


@register.inclusion_tag("admin/bookings/webhook_health.html")
def webhook_health() -> dict:
    from bookings.webhooks import endpoint_health

    return {"webhooks": endpoint_health()}
