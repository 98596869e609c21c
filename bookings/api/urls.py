"""URLs of the booking-engine API, mounted at ``/api/v1/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("auth/validate/", views.ValidateKeyView.as_view(), name="api-auth-validate"),
    path("hotels/<str:hotel_code>/", views.HotelView.as_view(), name="api-hotel"),
    path(
        "hotels/<str:hotel_code>/room-types/",
        views.RoomTypeListView.as_view(),
        name="api-room-types",
    ),
    path(
        "hotels/<str:hotel_code>/rate-plans/",
        views.RatePlanListView.as_view(),
        name="api-rate-plans",
    ),
    path(
        "hotels/<str:hotel_code>/availability/",
        views.AvailabilityView.as_view(),
        name="api-availability",
    ),
    path("hotels/<str:hotel_code>/calendar/", views.CalendarView.as_view(), name="api-calendar"),
    path(
        "hotels/<str:hotel_code>/bookings/",
        views.BookingCreateView.as_view(),
        name="api-booking-create",
    ),
    path("bookings/", views.BookingListView.as_view(), name="api-bookings"),
    path(
        "bookings/<str:confirmation_number>/",
        views.BookingDetailView.as_view(),
        name="api-booking",
    ),
    path(
        "bookings/<str:confirmation_number>/cancel/",
        views.BookingCancelView.as_view(),
        name="api-booking-cancel",
    ),
]
