"""Staff see every inbound message, its raw body and why it is held, and retry it."""

from __future__ import annotations

from django.urls import reverse

from bookings.models import RatePlan, Reservation, RoomType
from channels.inbound import apply_inbound, record_inbound
from channels.interface import InboundReservation
from channels.models import ChannelProduct, InboundMessage

from .test_inbound import message

Status = InboundMessage.Status


def held_message(hotel, ota) -> InboundMessage:
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    ChannelProduct.objects.create(connection=ota, room_type=exq, partner_room_id="R-EXQ")
    raw = b"<Res id='BK100'>&lt;script&gt;</Res>"
    inbound = InboundReservation(**{**message(hotel, room="R-EXQ", rate="P1").__dict__, "raw": raw})
    return apply_inbound(record_inbound(ota, inbound).pk)


def test_the_list_filters_by_status_connection_and_kind(admin_client, hotel, ota):
    held = held_message(hotel, ota)
    url = reverse("admin:channels_inboundmessage_changelist")
    for query in ("", "?status=held", f"?connection__id__exact={ota.pk}", "?kind=new"):
        page = admin_client.get(url + query)
        assert page.status_code == 200
        assert "BK100" in page.content.decode(), query
    assert "BK100" not in admin_client.get(url + "?status=applied").content.decode()
    assert "HELD" in admin_client.get(url).content.decode()
    assert held.error_code == "unmapped_rate"


def test_a_message_shows_its_raw_body_read_only_and_its_reason(admin_client, hotel, ota):
    held = held_message(hotel, ota)
    page = admin_client.get(reverse("admin:channels_inboundmessage_change", args=[held.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;Res id=&#x27;BK100&#x27;&gt;&amp;lt;script&amp;gt;&lt;/Res&gt;" in html
    assert "is not mapped to a rate plan of EXQ" in html
    assert 'name="raw_body"' not in html  # shown, not editable


def test_retry_applies_a_held_message_once_the_mapping_is_added(admin_client, hotel, ota):
    held = held_message(hotel, ota)
    ChannelProduct.objects.create(
        connection=ota,
        room_type=RoomType.objects.get(hotel=hotel, code="EXQ"),
        rate_plan=RatePlan.objects.get(hotel=hotel, code="BAR"),
        partner_room_id="R-EXQ",
        partner_rate_id="P1",
    )

    response = admin_client.post(
        reverse("admin:channels_inboundmessage_changelist"),
        {"action": "retry", "_selected_action": [held.pk]},
        follow=True,
    )

    assert "Retried: 1 applied." in response.content.decode()
    held.refresh_from_db()
    assert held.status == Status.APPLIED
    assert Reservation.objects.get().external_id == "BK100"


def test_retry_that_still_fails_says_so(admin_client, hotel, ota):
    held = held_message(hotel, ota)
    response = admin_client.post(
        reverse("admin:channels_inboundmessage_changelist"),
        {"action": "retry", "_selected_action": [held.pk]},
        follow=True,
    )
    assert "Retried: 1 held for staff. The reasons are shown on each message." in (
        response.content.decode()
    )


def connection_form(connection, **products) -> dict:
    """The connection's change form as posted, with product rows (its credentials kept)."""
    return {
        "hotel": connection.hotel_id, "provider": connection.provider, "name": connection.name,
        "base_url": connection.base_url, "enabled": "on",
        "settings": '{"hotel_code": "PEMA001"}', "room_type_map": "{}", "rate_plan_map": "{}",
        "credential_api_key": "", "credential_api_secret": "", **products,
    }  # fmt: skip


# The connection form is built from the registered providers when the admin loads, so
# these use the IDS Next connection (the test partner registers too late for its form).
def test_products_are_edited_inline_on_the_connection(admin_client, hotel, conn):
    url = reverse("admin:channels_connection_change", args=[conn.pk])
    page = admin_client.get(url).content.decode()
    assert f"/hooks/{conn.uuid}/" in page
    assert 'name="products-TOTAL_FORMS"' in page
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    bar = RatePlan.objects.get(hotel=hotel, code="BAR")
    form = connection_form(
        conn, **{
        "products-TOTAL_FORMS": "2", "products-INITIAL_FORMS": "0",
        "products-0-room_type": exq.pk, "products-0-partner_room_id": "1001",
        "products-0-active": "on",
        "products-1-room_type": exq.pk, "products-1-rate_plan": bar.pk,
        "products-1-partner_room_id": "1001", "products-1-partner_rate_id": "77",
        "products-1-active": "on",
    })  # fmt: skip

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(conn.products.values_list("partner_room_id", "partner_rate_id")) == [
        ("1001", ""),
        ("1001", "77"),
    ]


def test_a_wrong_product_row_is_a_form_error(admin_client, hotel, conn):
    url = reverse("admin:channels_connection_change", args=[conn.pk])
    exq = RoomType.objects.get(hotel=hotel, code="EXQ")
    bar = RatePlan.objects.get(hotel=hotel, code="BAR")
    form = connection_form(conn, **{
        "products-TOTAL_FORMS": "1", "products-INITIAL_FORMS": "0",
        "products-0-room_type": exq.pk, "products-0-rate_plan": bar.pk,
        "products-0-partner_room_id": "1001", "products-0-active": "on",
    })  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "A room x rate product needs the partner&#x27;s rate id." in response.content.decode()
    assert not conn.products.exists()


def test_the_health_page_counts_held_reservations(admin_client, hotel, ota):
    held_message(hotel, ota)
    page = admin_client.get(reverse("admin:channels_connection_health")).content.decode()
    assert "Held reservations" in page
    link = (
        reverse("admin:channels_inboundmessage_changelist")
        + f"?connection__id__exact={ota.pk}&status__in=held,failed"
    )
    assert link in page and "icon-alert" in page
    listed = admin_client.get(link)
    assert listed.status_code == 200 and "BK100" in listed.content.decode()
