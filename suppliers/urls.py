"""URLs of the suppliers API, mounted at ``/api/v1/suppliers/``."""

from django.urls import path

from . import api

urlpatterns = [
    path("search/", api.SearchView.as_view(), name="api-suppliers-search"),
    path("bookings/", api.BookingsView.as_view(), name="api-supplier-bookings"),
    path(
        "bookings/<str:booking_id>/", api.BookingDetailView.as_view(), name="api-supplier-booking"
    ),
    path(
        "bookings/<str:booking_id>/cancel/",
        api.BookingCancelView.as_view(),
        name="api-supplier-booking-cancel",
    ),
]
