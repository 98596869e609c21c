"""URLs of the connections staff API, included under ``api/v1/``."""

from rest_framework.routers import SimpleRouter

from .api import ConnectionViewSet

router = SimpleRouter()
router.register("connections", ConnectionViewSet, basename="connection")

urlpatterns = router.urls
