"""Top-level URLs: the staff admin and the versioned API."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
