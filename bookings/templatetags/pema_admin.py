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


# The pickup chart's drawing box (an SVG drawn here: no chart library, nothing to fetch).
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 900, 220, 34, 22
CHART_COLOURS = ("#417690", "#e07a1f", "#5b8c3a", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d")


def pickup_chart(pickup) -> dict:
    """Stacked bars of reservations made per day, by channel, as SVG rectangles."""
    per_day = pickup.per_day()
    top = max(per_day, default=0) or 1
    plot_w, plot_h = CHART_WIDTH - CHART_LEFT - 6, CHART_HEIGHT - CHART_BOTTOM - 8
    slot = plot_w / max(len(pickup.days), 1)
    colours = {c: CHART_COLOURS[i % len(CHART_COLOURS)] for i, c in enumerate(pickup.channels)}
    bars, labels = [], []
    for i, day in enumerate(pickup.days):
        x, y = CHART_LEFT + i * slot + 1, CHART_HEIGHT - CHART_BOTTOM
        for channel in pickup.channels:
            n = pickup.counts[channel][i]
            if not n:
                continue
            h = n * plot_h / top
            y -= h
            bars.append(
                {"x": round(x, 1), "y": round(y, 1), "w": round(slot - 2, 1), "h": round(h, 1),
                 "colour": colours[channel], "title": f"{day:%d %b} · {channel}: {n}"}
            )  # fmt: skip
        if i % 5 == 0 or i == len(pickup.days) - 1:
            labels.append({"x": round(x + slot / 2, 1), "text": f"{day:%d %b}"})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "base": CHART_HEIGHT - CHART_BOTTOM,
        "top": top,
        "bars": bars,
        "labels": labels,
        "legend": [(c, colours[c], sum(pickup.counts[c])) for c in pickup.channels],
    }


@register.inclusion_tag("admin/bookings/dashboard.html", takes_context=True)
def today_dashboard(context) -> dict:
    """The Today dashboard of the hotel chosen with ``?hotel=<code>`` (the first one when none)."""
    from bookings.dashboard import chosen_hotel, needs_a_person, today_figures

    request = context["request"]
    hotel, hotels = chosen_hotel(request.GET.get("hotel"))
    if hotel is None:
        return {"hotel": None}
    figures = today_figures(hotel)
    return {
        "hotel": hotel,
        "hotels": hotels,
        "figures": figures,
        "chart": pickup_chart(figures.pickup),
        "attention": needs_a_person(hotel, request.user),
        "perms": context.get("perms"),
        "request": request,
    }


@register.filter
def money(amount: int, currency: str) -> str:
    """Minor units as people read them: ``{{ amount|money:"INR" }}``."""
    from pema.money import format_money

    return format_money(amount, currency)
