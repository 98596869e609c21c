"""``{% supplier_health %}``: each supplier's status, calls today and quota (health page)."""

from django import template

register = template.Library()


@register.inclusion_tag("suppliers/health.html")
def supplier_health() -> dict:
    from suppliers.health import report

    return {"suppliers": report()}
