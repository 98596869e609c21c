"""Top-level URLs: the staff admin and the versioned API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .admin_views import progress_view

urlpatterns = [
    path(
        "admin/progress/<slug:token>/",
        admin.site.admin_view(progress_view),
        name="pema_progress",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("bookings.api.urls")),
    path("api/v1/", include("backups.urls")),
    path("api/v1/", include("channels.api_urls")),
    path("api/v1/ids/", include("pms.urls")),
    path("api/v1/suppliers/", include("suppliers.urls")),
    path("api/v1/pms/", include("pms.pms_urls")),
    path("hooks/", include("channels.urls")),
    path("ical/", include("channels.ical_urls")),
    path("payments/", include("payments.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON errors under /api/, Django's usual pages elsewhere.
handler404 = "bookings.api.errors.not_found_view"
handler500 = "bookings.api.errors.server_error_view"
