"""The staff backoffice: hotels, rooms, rate plans, the ARI calendar and reservations.

Reservations are created, modified and cancelled through the domain
functions, never raw saves, so inventory stays right. Calendar rows are read
here and changed through the ARI bulk-update form.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from pema.money import format_money

from . import extensions
from .admin_desk import ReservationDeskMixin
from .admin_grid import RateGridAdminMixin, bulk_initial
from .cancellation import cancellation_fee
from .forms import AriUpdateForm, ReservationAdminForm, room_field_name
from .models import (
    ChangeEvent,
    Guest,
    Hotel,
    InventoryDay,
    RateDay,
    RatePlan,
    Reservation,
    ReservationRoom,
    Room,
    RoomBlock,
    RoomType,
)
from .reservations import cancel_reservation


class ReadOnlyAdminMixin:
    """Rows that only the domain writes: visible, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Hotel)
class HotelAdmin(RateGridAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "timezone", "currency", "availability_master", "tools")
    search_fields = ("code", "name")
    list_filter = ("availability_master",)

    @admin.display(description="Calendar")
    def tools(self, obj: Hotel) -> str:
        return format_html(
            '<a href="{}">Calendar</a> · <a href="{}">Bulk update</a>',
            reverse("admin:bookings_hotel_calendar", args=[obj.pk]),
            reverse("admin:bookings_hotel_ari", args=[obj.pk]),
        )

    def get_urls(self):
        own = self.grid_urls() + [
            path(
                "<int:hotel_id>/ari/",
                self.admin_site.admin_view(self.ari_view),
                name="bookings_hotel_ari",
            ),
        ]
        return own + super().get_urls()

    def ari_view(self, request, hotel_id: int):
        if not (
            request.user.has_perm("bookings.change_rateday")
            and request.user.has_perm("bookings.change_inventoryday")
        ):
            raise PermissionDenied
        hotel = get_object_or_404(Hotel, pk=hotel_id)
        if request.method == "POST":
            form = AriUpdateForm(hotel, request.POST)
            if form.is_valid() and "apply" in request.POST and form.apply():
                result = form.result
                messages.success(
                    request,
                    f"Updated {result.inventory_rows} inventory days and "
                    f"{result.rate_rows} rate days.",
                )
                url = reverse("admin:bookings_hotel_calendar", args=[hotel.pk])
                return redirect(f"{url}?start={form.cleaned_data['start'].isoformat()}")
        else:
            form = AriUpdateForm(hotel, initial=bulk_initial(hotel, request.GET))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Update availability, rates and restrictions · {hotel.name}",
            "hotel": hotel,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/ari_update.html", context)


class RoomFormSet(BaseInlineFormSet):
    """Rooms under their room type: numbers are unique per hotel, checked before saving."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.hotel_id = self.instance.hotel_id
        return form

    def clean(self) -> None:
        super().clean()
        hotel_id = self.instance.hotel_id
        seen: set[str] = set()
        for form in self.forms:
            number = (form.cleaned_data or {}).get("number")
            if not number or (self.can_delete and self._should_delete_form(form)):
                continue
            taken = (
                Room.objects.filter(hotel_id=hotel_id, number=number)
                .exclude(pk=form.instance.pk)
                .exists()
            )
            if taken or number in seen:
                form.add_error("number", f"Room {number} already exists in this hotel.")
            seen.add(number)


class RoomInline(admin.TabularInline):
    model = Room
    formset = RoomFormSet
    extra = 0
    fields = ("number", "floor", "is_active", "housekeeping_status")


@admin.register(RoomType)
class RoomTypeAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "hotel",
        "category",
        "bed_type",
        "active_rooms",
        "max_occupancy",
    )
    list_filter = ("hotel", "category")
    search_fields = ("code", "name")
    inlines = [RoomInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("hotel")
            .annotate(n_active=Count("rooms", filter=Q(rooms__is_active=True)))
        )

    @admin.display(description="Active rooms", ordering="n_active")
    def active_rooms(self, obj) -> int:
        return obj.n_active

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.instance and not inline_form.instance.hotel_id:
                inline_form.instance.hotel = form.instance.hotel
        super().save_formset(request, form, formset, change)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("number", "room_type", "hotel", "is_active", "housekeeping_status")
    list_filter = ("hotel", "room_type", "is_active", "housekeeping_status")
    list_editable = ("is_active", "housekeeping_status")
    search_fields = ("number",)
    list_select_related = ("room_type", "hotel")

    def get_deleted_objects(self, objs, request):
        # A room whose type is sold out cannot go: listed as "protected", the
        # admin refuses the delete with these reasons instead of failing.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        conflicts = [message for room in objs if (message := room.removal_conflict())]
        return deleted, counts, perms_needed, list(protected) + conflicts


@admin.register(RatePlan)
class RatePlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "hotel", "meal_plan", "refundable", "parent", "is_active")
    list_filter = ("hotel", "meal_plan", "refundable", "is_active")
    search_fields = ("code", "name")
    filter_horizontal = ("room_types",)


@admin.register(InventoryDay)
class InventoryDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "room_type", "date", "total", "sold", "blocked", "available_rooms", "overbooked",
        "stop_sell", "total_override",
    )  # fmt: skip
    list_filter = ("room_type__hotel", "room_type", "stop_sell")
    date_hierarchy = "date"
    list_select_related = ("room_type",)

    @admin.display(description="Available")
    def available_rooms(self, obj: InventoryDay) -> int:
        return obj.available


@admin.register(RoomBlock)
class RoomBlockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Blocks are placed and freed by their source (a partner's feed, a PMS's room out of
    # order), never edited here.
    list_display = [
        "room_type", "room", "start", "end", "source", "source_channel", "reason", "released_at",
    ]  # fmt: skip
    list_filter = ["source", "source_channel", "room_type__hotel"]
    list_select_related = ["room", "room_type"]
    search_fields = ["external_id", "reason"]


@admin.register(RateDay)
class RateDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "rate_plan", "room_type", "date", "price_shown", "min_stay_arrival", "min_stay_through",
        "max_stay", "closed_to_arrival", "closed_to_departure", "stop_sell",
    )  # fmt: skip
    list_filter = ("rate_plan__hotel", "rate_plan", "room_type", "stop_sell")
    date_hierarchy = "date"
    list_select_related = ("rate_plan", "room_type")

    @admin.display(description="Price")
    def price_shown(self, obj: RateDay) -> str:
        return format_money(obj.price, obj.rate_plan.currency)


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    list_display = ("first_name", "last_name", "email", "phone", "country", "hotel")
    list_filter = ("hotel", "country")
    search_fields = ("first_name", "last_name", "email", "phone")


class ReservationRoomInline(admin.TabularInline):
    model = ReservationRoom
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("room_type", "rate_plan", "room", "adults", "children", "amount", "nightly")
    readonly_fields = fields

    # View-only: stays are rewritten by the domain when the reservation changes.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Total")
    def amount(self, obj: ReservationRoom) -> str:
        return format_money(obj.total_amount, obj.reservation.currency)

    @admin.display(description="Nights")
    def nightly(self, obj: ReservationRoom) -> str:
        currency = obj.reservation.currency
        return ", ".join(
            f"{n.date:%d %b}: {format_money(n.price, currency)}{' (overbooked)' * n.overbooked}"
            for n in obj.nights.all()
        )


@admin.action(description="Cancel selected reservations", permissions=["change"])
def cancel_selected(modeladmin, request, queryset):
    done = 0
    for reservation in queryset:
        _, cancelled = cancel_reservation(reservation, source=Reservation.Source.STAFF)
        done += cancelled
    modeladmin.message_user(request, f"Cancelled {done} reservation(s).", messages.SUCCESS)


@admin.register(Reservation)
class ReservationAdmin(ReservationDeskMixin, admin.ModelAdmin):
    form = ReservationAdminForm
    list_display = (
        "confirmation_number", "guest", "check_in", "check_out", "status_shown", "source",
        "total_shown", "hotel",
    )  # fmt: skip
    list_filter = ("hotel", "status", "source", "is_overbooked", "source_channel")
    date_hierarchy = "check_in"
    search_fields = (
        "confirmation_number", "guest__first_name", "guest__last_name", "guest__email",
        "external_id", "pms_reference",
    )  # fmt: skip
    list_select_related = ("guest", "hotel")
    inlines = [ReservationRoomInline]
    actions = [cancel_selected]
    readonly_fields = (
        "confirmation_number", "status", "source", "source_channel", "external_id",
        "pms_reference", "guest", "guest_contact", "total_shown", "overbooked_shown", "version",
        "created_at",
        "updated_at", "cancelled_at", "cancel_link",
    )  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        stay = ("room_type", "rate_plan", "check_in", "check_out", "adults", "children")
        if obj is None:
            return [
                (
                    None,
                    {"fields": ("hotel",) + stay + ("rooms", "special_requests", "staff_notes")},
                ),
                (
                    "Guest",
                    {
                        "fields": (
                            "existing_guest",
                            "guest_first_name",
                            "guest_last_name",
                            "guest_email",
                            "guest_phone",
                            "guest_country",
                        )  # fmt: skip
                    },
                ),
            ]
        if obj.status == Reservation.Status.CANCELLED:
            return [
                (None, {"fields": [n for n in self.readonly_fields if n != "overbooked_shown"]})
            ]
        rooms = tuple(room_field_name(n) for n in range(1, obj.rooms.count() + 1))
        if obj.source == Reservation.Source.OTA:
            stay_title = f"The stay, as {obj.source_channel or 'the OTA'} booked it"
        else:
            stay_title = "Change the stay"
        shown = tuple(
            name for name in self.readonly_fields
            if name != "overbooked_shown" or obj.is_overbooked
        )  # fmt: skip
        return [
            ("Reservation", {"fields": shown}),
            (stay_title, {"fields": stay + ("special_requests",)}),
            ("Rooms and notes", {"fields": rooms + ("staff_notes",)}),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The room fields are made per room stay by the form itself, not by the model.
        fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        readonly = set(self.get_readonly_fields(request, obj))
        kwargs["fields"] = [
            name for name in fields if name not in readonly and not name.startswith("room_")
        ]
        form = super().get_form(request, obj, change=change, **kwargs)
        # A non-refundable stay's dates move only for staff holding the permission.
        form.may_move_non_refundable = request.user.has_perm("bookings.move_non_refundable")
        return form

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == Reservation.Status.CANCELLED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Reservations are cancelled, never deleted: other systems hold them too.
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Not wrapped in one transaction as Django does: the booking rules open their
        # own, and a PMS-mastered hotel's PMS is asked before it, holding no lock.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # The form's clean() has written the reservation through the domain.
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def construct_change_message(self, request, form, formsets, add=False):
        if add:
            return "Created through the booking rules."
        return "Rooms or notes changed." if form.owned_by_partner else "Stay changed; re-priced."

    @admin.display(description="Status", ordering="status")
    def status_shown(self, obj: Reservation) -> str:
        if obj.is_overbooked and obj.status == Reservation.Status.CONFIRMED:
            return format_html(
                '<strong style="color:#fff;background:#ba2121;padding:2px 6px;'
                'border-radius:3px">{}</strong>',
                "OVERBOOKED",
            )
        return obj.get_status_display()

    @admin.display(description="Overbooked")
    def overbooked_shown(self, obj: Reservation) -> str:
        # Shown on overbooked reservations only (the fieldsets leave it out elsewhere).
        if not obj.is_overbooked:
            return "—"
        return format_html(
            '<strong class="overbooked">OVERBOOKED</strong> Taken from {} past availability: '
            "rehouse the guest or free a room.",
            obj.source_channel or "an OTA",
        )

    @admin.display(description="Guest contact")
    def guest_contact(self, obj: Reservation) -> str:
        guest = obj.guest
        email = (
            format_html('<a href="mailto:{}">{}</a>', guest.email, guest.email)
            if guest.email else "no e-mail"
        )  # fmt: skip
        phone = (
            format_html('<a href="tel:{}">{}</a>', guest.phone, guest.phone)
            if guest.phone else "no phone"
        )  # fmt: skip
        return format_html(
            '<span id="guest-contact"><a href="{}">{}</a> · {} · {}{}</span>',
            reverse("admin:bookings_guest_change", args=[guest.pk]),
            guest, email, phone,
            f" · {guest.country}" if guest.country else "",
        )  # fmt: skip

    @admin.display(description="Total")
    def total_shown(self, obj: Reservation) -> str:
        return format_money(obj.total_amount, obj.currency)

    @admin.display(description="Cancel")
    def cancel_link(self, obj: Reservation) -> str:
        if obj.pk is None or obj.status == Reservation.Status.CANCELLED:
            return "—"
        return format_html(
            '<a class="deletelink" href="{}">Cancel this reservation</a>',
            reverse("admin:bookings_reservation_cancel", args=[obj.pk]),
        )

    def get_urls(self):
        own = [
            path(
                "<int:reservation_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="bookings_reservation_cancel",
            )
        ] + self.desk_urls()
        return own + super().get_urls()

    def cancel_view(self, request, reservation_id: int):
        reservation = get_object_or_404(Reservation, pk=reservation_id)
        if not super().has_change_permission(request, reservation):
            raise PermissionDenied
        if request.method == "POST":
            done, cancelled = cancel_reservation(reservation, source=Reservation.Source.STAFF)
            text = "cancelled" if cancelled else "was already cancelled"
            fee = format_money(done.cancellation_fee or 0, done.currency)
            refund = extensions.describe(done).get("refund")
            if refund:
                text += f"; fee {fee}, refund {format_money(refund['amount'], refund['currency'])}"
            else:
                text += f"; fee {fee}"
            messages.success(request, f"Reservation {reservation.confirmation_number} {text}.")
            return redirect("admin:bookings_reservation_change", reservation.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cancel reservation {reservation.confirmation_number}?",
            "reservation": reservation,
            "fee": format_money(cancellation_fee(reservation), reservation.currency),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/cancel_reservation.html", context)


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "hotel", "reservation", "source", "created_at")
    list_filter = ("kind", "hotel", "source")
    search_fields = ("reservation__confirmation_number",)
    readonly_fields = ("hotel", "kind", "reservation", "payload", "source", "created_at")
    list_select_related = ("hotel", "reservation")


from . import admin_api  # noqa: E402, F401
