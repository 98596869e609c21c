"""IDS Next staff endpoints, mounted at /api/v1/ids/."""

from django.urls import path

from . import api

app_name = "ids"
urlpatterns = [
    path("test-connection/", api.TestConnectionView.as_view(), name="test-connection"),
    path("check-availability/", api.CheckAvailabilityView.as_view(), name="check-availability"),
    path("update-availability/", api.UpdateAvailabilityView.as_view(), name="update-availability"),
    path("update-rates/", api.UpdateRatesView.as_view(), name="update-rates"),
    path("sync-availability/", api.SyncAvailabilityView.as_view(), name="sync-availability"),
]
