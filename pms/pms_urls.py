"""The seed's PMS endpoints, mounted at /api/v1/pms/."""

from django.urls import path

from . import pms_api

app_name = "pms"
urlpatterns = [
    path("sync/bookings/", pms_api.SyncBookingsView.as_view(), name="sync-bookings"),
    path("sync/rooms/", pms_api.SyncRoomsView.as_view(), name="sync-rooms"),
    path("sync/guests/", pms_api.SyncGuestsView.as_view(), name="sync-guests"),
    path("<str:provider>/bookings/", pms_api.BookingWebhookView.as_view(), name="booking-webhook"),
]
