"""URLs of the backups staff API, included under ``api/v1/``."""

from rest_framework.routers import SimpleRouter

from .api import SystemBackupViewSet

router = SimpleRouter()
router.register("backups", SystemBackupViewSet, basename="backup")

urlpatterns = router.urls
