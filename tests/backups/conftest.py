"""Fixtures for the backup tests: a private backups storage, a key, and a small hotel's data."""

from __future__ import annotations

from datetime import date, timedelta

import factory
import pytest
from cryptography.fernet import Fernet
from django.apps import apps

from backups import service
from bookings.models import (
    ChangeEvent,
    Guest,
    Reservation,
    ReservationRoom,
    RoomNight,
)
from tests.factories import GuestFactory, HotelFactory, RatePlanFactory, RoomTypeFactory


class ReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reservation

    hotel = factory.SubFactory(HotelFactory)
    guest = factory.LazyAttribute(lambda o: GuestFactory(hotel=o.hotel))
    confirmation_number = factory.Sequence(lambda n: f"PEMA-{n:06d}")
    source = Reservation.Source.STAFF
    check_in = date(2030, 1, 10)
    check_out = date(2030, 1, 12)
    adults = 2
    total_amount = 500_000
    currency = "INR"


@pytest.fixture(autouse=True)
def backup_storage(settings, tmp_path):
    """Each test gets its own empty backups folder and no encryption key."""
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "backups")},
        },
    }
    settings.BACKUP_ENCRYPTION_KEY = ""
    return service.storage()


@pytest.fixture
def key(settings) -> str:
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    return settings.BACKUP_ENCRYPTION_KEY


def make_hotel(code: str = "BKP", reservations: int = 3):
    """A hotel with a room type, a rate plan, guests, reservations with rooms and nights."""
    hotel = HotelFactory(code=code)
    room_type = RoomTypeFactory(hotel=hotel, code="DBL")
    rate_plan = RatePlanFactory(hotel=hotel, code="BAR", room_types=[room_type])
    for _ in range(reservations):
        reservation = ReservationFactory(hotel=hotel, special_requests="Quiet room, ünïcödé ✓")
        stay = ReservationRoom.objects.create(
            reservation=reservation,
            room_type=room_type,
            rate_plan=rate_plan,
            adults=2,
            total_amount=500_000,
        )
        for night in range(2):
            RoomNight.objects.create(
                stay=stay, date=reservation.check_in + timedelta(days=night), price=250_000
            )
        ChangeEvent.objects.create(
            hotel=hotel,
            kind=ChangeEvent.Kind.RESERVATION_CREATED,
            reservation=reservation,
            payload={"confirmation": reservation.confirmation_number, "n": [1, 2.5]},
        )
    return hotel


BOOKINGS_MODELS = [m for m in apps.get_app_config("bookings").get_models(include_auto_created=True)]


def snapshot(models=None) -> dict[str, list[tuple]]:
    """Every row of the given models (all bookings models by default), comparable."""
    result = {}
    for model in models or apps.get_app_config("bookings").get_models(include_auto_created=True):
        names = [f.attname for f in model._meta.local_concrete_fields]
        result[model._meta.label_lower] = sorted(
            model._base_manager.order_by("pk").values_list(*names), key=repr
        )
    return result


def raw_delete(queryset) -> None:
    """Delete without cascading: other apps' tables may not be migrated yet in a shared tree."""
    queryset._raw_delete(queryset.db)


def mutate() -> None:
    """Change the bookings data the way a bad day would: edits, deletes and inserts."""
    reservation = Reservation.objects.order_by("pk").first()
    raw_delete(ChangeEvent.objects.filter(reservation=reservation))
    raw_delete(RoomNight.objects.filter(stay__reservation=reservation))
    raw_delete(ReservationRoom.objects.filter(reservation=reservation))
    raw_delete(Reservation.objects.filter(pk=reservation.pk))
    raw_delete(Guest.objects.filter(pk=reservation.guest_id))
    Reservation.objects.update(special_requests="changed")
    hotel = HotelFactory(code="NEW")
    GuestFactory(hotel=hotel)
