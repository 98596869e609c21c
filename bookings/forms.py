"""Staff forms: reservations and the ARI bulk update, both calling the domain functions."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models

from pema.money import currency_exponent, to_major, to_minor

from .ari import (
    LIMITS,
    RATE_CELL_FIELDS,
    WEEKDAY_NAMES,
    AriChanges,
    apply_ari_update,
    edit_inventory_cell,
    edit_rate_cell,
    preview_ari_update,
)
from .availability import Quote, quote_stay
from .errors import BookingError
from .frontdesk import assign_room, set_staff_notes
from .models import Guest, Hotel, InventoryDay, RateDay, RatePlan, Reservation, Room, RoomType
from .reservations import GuestDetails, modify_reservation, reserve_stay

TRI_STATE = [("", "Leave as it is"), ("close", "Close"), ("open", "Open")]


def _field_errors(form: forms.Form, error: BookingError) -> None:
    """Attach to known fields, otherwise to the form as a whole."""
    fields = {k: v for k, v in error.fields.items() if k in form.fields}
    if fields:
        for name, messages in fields.items():
            for message in messages:
                form.add_error(name, message)
    else:
        form.add_error(None, error.message)


#: What an OTA owns on its reservations: staff change these at the OTA, never here.
OTA_OWNED_FIELDS = ("room_type", "rate_plan", "check_in", "check_out", "adults", "children",
                    "special_requests")  # fmt: skip


def room_field_name(index: int) -> str:
    """The form field assigning a physical room to the ``index``-th room stay (from 1)."""
    return f"room_{index}"


class ReservationAdminForm(forms.ModelForm):
    """Create or modify a reservation through the domain, so inventory stays right.

    The write happens in ``clean`` (inside the admin's transaction) so that a
    refusal — sold out, min stay, too many guests — shows as a form error.

    On change, each room stay gets a room field and the reservation staff
    notes. An OTA's reservation keeps its dates, room type, rate plan, guests
    and price as the OTA sent them: the OTA owns them and sends changes itself.
    """

    #: Set by the admin from the user's ``bookings.move_non_refundable`` permission.
    may_move_non_refundable = False

    hotel = forms.ModelChoiceField(queryset=Hotel.objects.all())
    room_type = forms.ModelChoiceField(queryset=RoomType.objects.select_related("hotel"))
    rate_plan = forms.ModelChoiceField(queryset=RatePlan.objects.filter(is_active=True))
    check_in = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    check_out = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    adults = forms.IntegerField(min_value=1, initial=2)
    children = forms.IntegerField(min_value=0, initial=0)
    rooms = forms.IntegerField(min_value=1, max_value=9, initial=1)
    existing_guest = forms.ModelChoiceField(
        queryset=Guest.objects.all(), required=False, widget=forms.HiddenInput
    )
    guest_first_name = forms.CharField(max_length=100)
    guest_last_name = forms.CharField(max_length=100)
    guest_email = forms.EmailField(required=False)
    guest_phone = forms.CharField(max_length=40, required=False)
    guest_country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        required=False,
        help_text="ISO code, e.g. IN",
        error_messages={"invalid": "Two letters, e.g. IN."},
    )
    special_requests = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    staff_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="For staff only; never sent to partners.",
    )

    class Meta:
        model = Reservation
        fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_user = None
        if self.instance.pk:
            # On change the hotel, rooms and guest are fixed: only the stay moves.
            fixed = [n for n in self.fields if n.startswith("guest_")]
            for name in fixed + ["hotel", "rooms", "existing_guest"]:
                del self.fields[name]
            first = self.instance.rooms.select_related("room_type", "rate_plan").first()
            hotel = self.instance.hotel
            self.fields["room_type"].queryset = hotel.room_types.all()
            self.fields["rate_plan"].queryset = hotel.rate_plans.filter(is_active=True)
            self.initial.update(
                room_type=first.room_type_id if first else None,
                rate_plan=first.rate_plan_id if first else None,
                check_in=self.instance.check_in,
                check_out=self.instance.check_out,
                adults=self.instance.adults,
                children=self.instance.children,
                special_requests=self.instance.special_requests,
                staff_notes=self.instance.staff_notes,
            )
            self._add_room_fields()
            if self.owned_by_partner:
                channel = self.instance.source_channel or "the OTA"
                for name in OTA_OWNED_FIELDS:
                    self.fields[name].help_text = f"Set by {channel}; changed there, not here."

    @property
    def owned_by_partner(self) -> bool:
        return self.instance.pk is not None and self.instance.source == Reservation.Source.OTA

    def _add_room_fields(self) -> None:
        self.stays = list(self.instance.rooms.select_related("room_type").order_by("id"))
        for index, stay in enumerate(self.stays, start=1):
            name = room_field_name(index)
            # Any active room of the hotel: the stay may be moving to another type too.
            self.fields[name] = forms.ModelChoiceField(
                queryset=Room.objects.filter(hotel_id=self.instance.hotel_id, is_active=True)
                .select_related("room_type")
                .order_by("room_type__code", "number"),
                required=False,
                label=f"Room {index} ({stay.room_type.code})",
                empty_label="Not assigned",
            )
            self.initial[name] = stay.room_id

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if self.owned_by_partner:
            owned = [name for name in OTA_OWNED_FIELDS if self._changed(name, data)]
            if owned:
                channel = self.instance.source_channel or "the OTA"
                labels = ", ".join(self.fields[n].label or n.replace("_", " ") for n in owned)
                raise ValidationError(
                    f"This reservation came from {channel}, which owns its dates, room type, "
                    f"rate plan, guests and price: change them at {channel} and Pema applies "
                    f"the change when it arrives. Here you can assign rooms and add staff "
                    f"notes. (Changed: {labels}.)"
                )
            self._save_front_desk(data)
            return data
        try:
            if self.instance.pk:
                self.instance = modify_reservation(
                    self.instance,
                    source=Reservation.Source.STAFF,
                    may_move_non_refundable=self.may_move_non_refundable,
                    check_in=data["check_in"],
                    check_out=data["check_out"],
                    room_type=data["room_type"],
                    rate_plan=data["rate_plan"],
                    adults=data["adults"],
                    children=data["children"],
                    special_requests=data.get("special_requests", ""),
                )
            else:
                hotel = data["hotel"]
                if data["room_type"].hotel_id != hotel.id:
                    raise ValidationError({"room_type": f"Choose a room type of {hotel.name}."})
                if data["rate_plan"].hotel_id != hotel.id:
                    raise ValidationError({"rate_plan": f"Choose a rate plan of {hotel.name}."})
                self.instance = reserve_stay(
                    hotel=hotel,
                    room_type=data["room_type"],
                    rate_plan=data["rate_plan"],
                    check_in=data["check_in"],
                    check_out=data["check_out"],
                    adults=data["adults"],
                    children=data["children"],
                    rooms=data["rooms"],
                    guest=self._guest(data),
                    source=Reservation.Source.STAFF,
                    special_requests=data.get("special_requests", ""),
                )
        except BookingError as error:
            _field_errors(self, error)
            return data
        if hasattr(self, "stays"):
            self._save_front_desk(data)
        else:
            set_staff_notes(self.instance, data.get("staff_notes", ""))
        return data

    def _guest(self, data: dict) -> GuestDetails | Guest:
        """The guest looked up and chosen (reused as is), else the details typed in."""
        existing = data.get("existing_guest")
        if existing is not None:
            if existing.hotel_id != data["hotel"].id:
                raise ValidationError({"existing_guest": "That guest belongs to another hotel."})
            return existing
        return GuestDetails(
            data["guest_first_name"],
            data["guest_last_name"],
            data.get("guest_email", ""),
            data.get("guest_phone", ""),
            data.get("guest_country", ""),
        )

    def _changed(self, name: str, data: dict) -> bool:
        before, after = self.initial.get(name), data.get(name)
        if isinstance(after, models.Model):
            after = after.pk
        if isinstance(after, str) and isinstance(before, str):
            # Browsers post text areas with CRLF line ends.
            return after.replace("\r\n", "\n").strip() != before.replace("\r\n", "\n").strip()
        return after != before

    def _save_front_desk(self, data: dict) -> None:
        """Room assignments and notes; after a stay change they go to the new stays in order."""
        stays = list(self.instance.rooms.select_related("room_type", "reservation").order_by("id"))
        for index, stay in enumerate(stays, start=1):
            name = room_field_name(index)
            if name not in data:
                continue
            room = data[name]
            moved_away = room is not None and room.room_type_id != stay.room_type_id
            if moved_away and room.pk == self.initial.get(name):
                room = None  # the stay moved to another room type: its room cannot follow
            try:
                assign_room(stay, room)
            except BookingError as error:
                self.add_error(name, error.message)
        set_staff_notes(self.instance, data.get("staff_notes", ""))

    def save(self, commit=True):
        # The domain function has saved it already.
        return self.instance

    def _save_m2m(self):
        pass


PRICE_INPUT = re.compile(r"^\s*(?P<sign>[+\-−])?\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<percent>%)?\s*$")


def parse_price_change(text: str, currency: str) -> dict:
    """``12000`` sets the price; ``+10 %``, ``-5%`` move it by a percentage; ``+500``, ``-500``
    by an amount in ``currency``. Returns the ``AriChanges`` keyword it stands for."""
    match = PRICE_INPUT.match(text.replace(",", ""))
    if not match:
        raise ValidationError(
            "Write a price (12000), a percentage (+10 %, -5 %) or an amount (-500)."
        )
    sign, number, percent = match["sign"], Decimal(match["number"]), match["percent"]
    negative = sign in ("-", "−")
    if percent:
        if not sign:
            raise ValidationError("Give a percentage with its sign: +10 % or -10 %.")
        if number.as_tuple().exponent < -2:
            raise ValidationError("At most two decimals in a percentage.")
        return {"price_percent": -number if negative else number}
    if number.as_tuple().exponent < -currency_exponent(currency):
        raise ValidationError(f"At most {currency_exponent(currency)} decimals in {currency}.")
    if number > to_major(LIMITS["price"][1], currency):
        raise ValidationError("That is more than the calendar holds.")
    minor = to_minor(number, currency)
    if sign:
        return {"price_amount": -minor if negative else minor}
    return {"price": minor}


class AriUpdateForm(forms.Form):
    """Set availability, rates and restrictions over a date range and weekdays.

    In three sections: what changes, when, and which room types and plans.
    ``clean`` validates and computes the preview (cells changed, a sample
    before and after, warnings); ``apply`` writes through ``bookings.ari``. A
    change with warnings is applied only once they are acknowledged.
    """

    WHAT_ROOMS = ("availability_override", "clear_availability_override", "blocked", "stop_sell")
    WHAT_PRICES = ("price", "extra_adult_price", "extra_child_price")
    WHAT_RESTRICTIONS = ("min_stay_arrival", "min_stay_through", "max_stay", "clear_max_stay",
                         "closed_to_arrival", "closed_to_departure")  # fmt: skip
    WHEN = ("start", "end", "weekdays")
    WHICH = ("room_types", "rate_plans")

    room_types = forms.ModelMultipleChoiceField(
        queryset=RoomType.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every room type (of the ticked rate plans).",
    )
    rate_plans = forms.ModelMultipleChoiceField(
        queryset=RatePlan.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: restrictions go to every active plan; a price to the plans that "
        "derive from no other, and derived plans follow.",
    )
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive.")
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        initial=list(range(7)),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "weekday-toggles"}),
    )
    availability_override = forms.IntegerField(
        min_value=0, required=False, label="Rooms to sell",
        help_text="Instead of the active room count.",
    )  # fmt: skip
    clear_availability_override = forms.BooleanField(
        required=False, label="Sell the active rooms again", help_text="Clears rooms to sell."
    )
    blocked = forms.IntegerField(min_value=0, required=False, help_text="Rooms held back.")
    stop_sell = forms.ChoiceField(choices=TRI_STATE, required=False)
    price = forms.CharField(
        required=False,
        max_length=40,
        help_text="12000 sets the price; +10 % or -5 % and +500 or -500 change each day's price.",
    )
    extra_adult_price = forms.DecimalField(min_value=0, required=False)
    extra_child_price = forms.DecimalField(min_value=0, required=False)
    min_stay_arrival = forms.IntegerField(min_value=1, required=False, label="Min stay on arrival")
    min_stay_through = forms.IntegerField(min_value=1, required=False, label="Min stay through")
    max_stay = forms.IntegerField(min_value=1, required=False)
    clear_max_stay = forms.BooleanField(required=False, label="No maximum stay")
    closed_to_arrival = forms.ChoiceField(choices=TRI_STATE, required=False, label="CTA")
    closed_to_departure = forms.ChoiceField(choices=TRI_STATE, required=False, label="CTD")
    confirm_warnings = forms.BooleanField(
        required=False, label="I have read the warnings: apply anyway"
    )

    def __init__(self, hotel: Hotel, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hotel = hotel
        self.result = None
        self.preview = None
        self.fields["room_types"].queryset = hotel.room_types.all()
        self.fields["rate_plans"].queryset = hotel.rate_plans.filter(is_active=True)
        self.fields["price"].label = f"Price ({hotel.currency})"
        places = currency_exponent(hotel.currency)
        for name in ("extra_adult_price", "extra_child_price"):
            # Built per hotel: the currency decides the decimals, and the column the maximum.
            old_field = self.fields[name]
            self.fields[name] = forms.DecimalField(
                min_value=0,
                max_value=to_major(LIMITS[name][1], hotel.currency),
                max_digits=12,
                decimal_places=places,
                required=False,
                label=old_field.label,
                help_text=f"In {hotel.currency}.",
            )
        for name in ("availability_override", "blocked", "min_stay_arrival", "min_stay_through",
                     "max_stay"):  # fmt: skip
            self.fields[name].max_value = LIMITS[name][1]
            self.fields[name].validators.append(MaxValueValidator(LIMITS[name][1]))
            self.fields[name].widget.attrs["max"] = LIMITS[name][1]

    def sections(self) -> list[tuple[str, list]]:
        """The form's fields grouped as the page shows them."""
        return [
            (title, [self[name] for name in names])
            for title, names in (
                ("When", self.WHEN),
                ("Which", self.WHICH),
                ("What: rooms", self.WHAT_ROOMS),
                ("What: prices", self.WHAT_PRICES),
                ("What: restrictions", self.WHAT_RESTRICTIONS),
            )
        ]

    def clean_price(self):
        text = (self.cleaned_data.get("price") or "").strip()
        return parse_price_change(text, self.hotel.currency) if text else {}

    def _money(self, value: Decimal | None) -> int | None:
        return None if value is None else to_minor(value, self.hotel.currency)

    def changes(self) -> AriChanges:
        data = self.cleaned_data

        def tri(name: str) -> bool | None:
            return {"close": True, "open": False}.get(data.get(name) or "")

        return AriChanges(
            availability_override=data.get("availability_override"),
            clear_availability_override=bool(data.get("clear_availability_override")),
            blocked=data.get("blocked"),
            stop_sell=tri("stop_sell"),
            **(data.get("price") or {}),
            extra_adult_price=self._money(data.get("extra_adult_price")),
            extra_child_price=self._money(data.get("extra_child_price")),
            min_stay_arrival=data.get("min_stay_arrival"),
            min_stay_through=data.get("min_stay_through"),
            max_stay=data.get("max_stay"),
            clear_max_stay=bool(data.get("clear_max_stay")),
            closed_to_arrival=tri("closed_to_arrival"),
            closed_to_departure=tri("closed_to_departure"),
        )

    def _arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data["start"],
            "end": data["end"],
            "weekdays": set(data["weekdays"]),
            "room_types": list(data["room_types"]),
            "rate_plans": list(data["rate_plans"]),
            "changes": self.changes(),
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.preview = preview_ari_update(self.hotel, **self._arguments())
        except BookingError as error:
            _field_errors(self, error)
        return data

    def apply(self) -> bool:
        """Write the change (the form must be valid); a refusal becomes a form error."""
        if self.preview and self.preview.warnings and not self.cleaned_data.get("confirm_warnings"):
            self.add_error("confirm_warnings", "Read the warnings and tick this to apply.")
            return False
        try:
            self.result = apply_ari_update(self.hotel, source="staff", **self._arguments())
        except BookingError as error:
            _field_errors(self, error)
            return False
        return True


class RateCellForm(forms.Form):
    """One plan's price and restrictions for one room type and day, edited in the grid."""

    price = forms.DecimalField(min_value=0, required=False)
    stop_sell = forms.BooleanField(required=False)
    closed_to_arrival = forms.BooleanField(required=False, label="Closed to arrival (CTA)")
    closed_to_departure = forms.BooleanField(required=False, label="Closed to departure (CTD)")
    min_stay_arrival = forms.IntegerField(min_value=1, max_value=365, label="Min stay on arrival")
    min_stay_through = forms.IntegerField(min_value=1, max_value=365, label="Min stay through")
    max_stay = forms.IntegerField(
        min_value=1, max_value=365, required=False, help_text="Empty: no maximum."
    )
    break_derivation = forms.BooleanField(required=False)

    def __init__(self, rate_plan: RatePlan, room_type: RoomType, day, *args, **kwargs):
        self.rate_plan, self.room_type, self.day = rate_plan, room_type, day
        self.row = RateDay.objects.filter(
            rate_plan=rate_plan, room_type=room_type, date=day
        ).first()
        if self.row is not None and "data" not in kwargs and not args:
            kwargs["initial"] = {
                "price": None
                if self.row.price is None
                else to_major(self.row.price, rate_plan.currency),
                **{name: getattr(self.row, name) for name in RATE_CELL_FIELDS if name != "price"},
            }
        super().__init__(*args, **kwargs)
        places = currency_exponent(rate_plan.currency)
        self.fields["price"] = forms.DecimalField(
            min_value=0,
            max_value=to_major(LIMITS["price"][1], rate_plan.currency),
            max_digits=12,
            decimal_places=places,
            required=False,
            label=f"Price ({rate_plan.currency})",
        )
        if rate_plan.parent_id:
            parent = rate_plan.parent
            self.fields["price"].help_text = f"Derived from {parent.code}."
            self.fields[
                "break_derivation"
            ].label = f"Break the derivation: {rate_plan.code} stops following {parent.code}"
        else:
            del self.fields["break_derivation"]
        self.result = None

    def clean(self):
        data = super().clean()
        if self.row is None:
            raise ValidationError("This day has no calendar row for the plan and room type.")
        return data

    def save(self):
        """Write through the ARI domain; a refusal becomes a form error (returns False)."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in RATE_CELL_FIELDS}
        if values["price"] is not None:
            values["price"] = to_minor(values["price"], self.rate_plan.currency)
        else:
            values.pop("price")
        try:
            self.result = edit_rate_cell(
                self.rate_plan, self.room_type, self.day, values,
                break_derived=bool(data.get("break_derivation")), source="staff",
            )  # fmt: skip
        except BookingError as error:
            _field_errors(self, error)
            return False
        return True


class InventoryCellForm(forms.Form):
    """One room type's rooms to sell, blocked rooms and stop sell for one day."""

    rooms_to_sell = forms.IntegerField(
        min_value=0,
        max_value=LIMITS["availability_override"][1],
        required=False,
        help_text="Empty: sell the active rooms.",
    )
    blocked = forms.IntegerField(min_value=0, max_value=LIMITS["blocked"][1])
    stop_sell = forms.BooleanField(required=False, help_text="Every plan of this room type.")

    def __init__(self, room_type: RoomType, day, *args, **kwargs):
        self.room_type, self.day = room_type, day
        self.row = InventoryDay.objects.filter(room_type=room_type, date=day).first()
        if self.row is not None and "data" not in kwargs and not args:
            kwargs["initial"] = {
                "rooms_to_sell": self.row.total_override,
                "blocked": self.row.blocked,
                "stop_sell": self.row.stop_sell,
            }
        super().__init__(*args, **kwargs)
        self.result = None

    def clean(self):
        data = super().clean()
        if self.row is None:
            raise ValidationError("This day has no calendar row for the room type.")
        return data

    def save(self) -> bool:
        data = self.cleaned_data
        try:
            self.result = edit_inventory_cell(
                self.room_type, self.day, rooms_to_sell=data.get("rooms_to_sell"),
                blocked=data["blocked"], stop_sell=bool(data.get("stop_sell")), source="staff",
            )  # fmt: skip
        except BookingError as error:
            _field_errors(self, error)
            return False
        return True


class QuoteForm(forms.Form):
    """The reservation form's stay fields, read leniently for a live quote."""

    hotel = forms.ModelChoiceField(queryset=Hotel.objects.all(), required=False)
    room_type = forms.ModelChoiceField(queryset=RoomType.objects.all())
    rate_plan = forms.ModelChoiceField(queryset=RatePlan.objects.select_related("hotel"))
    check_in = forms.DateField()
    check_out = forms.DateField()
    adults = forms.IntegerField(min_value=1, max_value=99)
    children = forms.IntegerField(min_value=0, max_value=99, required=False)
    rooms = forms.IntegerField(min_value=1, max_value=9, required=False)

    def quote(self, reservation: Reservation | None = None) -> Quote:
        """Priced by the same evaluators as a search and a booking (``quote_stay``)."""
        data = self.cleaned_data
        hotel = reservation.hotel if reservation else data.get("hotel") or data["room_type"].hotel
        holding: list[tuple[int, object, int]] = []
        rooms = data.get("rooms") or 1
        if reservation is not None:
            stays = list(reservation.rooms.all())
            rooms = len(stays) or 1
            holding = [
                (stay.room_type_id, night, 1)
                for stay in stays
                for night in (reservation.check_in + timedelta(days=i)
                              for i in range(reservation.nights))
            ]  # fmt: skip
        return quote_stay(
            hotel, data["room_type"], data["rate_plan"], data["check_in"], data["check_out"],
            data["adults"], data.get("children") or 0, rooms, holding=holding,
        )  # fmt: skip
