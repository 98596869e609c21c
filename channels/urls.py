"""Routes of the channel manager mounted under ``/hooks/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("<uuid:connection_uuid>/", views.inbound_hook, name="channels-hook"),
]
