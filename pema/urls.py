"""Top-level URLs: the staff admin and the versioned API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("bookings.api.urls")),
    path("api/v1/", include("backups.urls")),
    path("api/v1/", include("channels.api_urls")),
    path("api/v1/ids/", include("pms.urls")),
    path("hooks/", include("channels.urls")),
    path("payments/", include("payments.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON errors under /api/, Django's usual pages elsewhere.
handler404 = "bookings.api.errors.not_found_view"
handler500 = "bookings.api.errors.server_error_view"
