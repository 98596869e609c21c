"""The calendar export mounted under ``/ical/``: ``<connection uuid>/<partner room>.ics``."""

from django.urls import path

from . import views

urlpatterns = [
    path("<uuid:connection_uuid>/<str:room>.ics", views.calendar_feed, name="channels-calendar"),
]
