"""The staff API for backups under ``/api/v1/backups/`` (scope ``backups:admin``).

Making a backup is queued to a Celery worker (202 with the record's id and
status); restoring runs in the request, since its caller wants the report.
Errors are JSON: ``{"error": {"code": "...", "message": "..."}}``. A backup
asked for with an API key records the key (by name and prefix), not a user.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pema.api import ErrorTable, JsonTypes, documented_errors, error_body, staff_or_scope
from pema.tasks import enqueue_on_commit

from . import service
from .models import SystemBackup

SCOPE = "backups:admin"

ERRORS: ErrorTable = {
    400: (
        "The request is not valid.",
        [
            ("malformed_json", "The body is not valid JSON: ..."),
            ("invalid_field", "Some fields are not valid. mode: ..."),
            ("invalid_backup", "Unknown app(s): nope."),
        ],
    ),
    401: (
        "No API key, or one that is unknown, revoked or expired.",
        [("not_authenticated", "Authentication credentials were not provided.")],
    ),
    403: (
        "The key lacks the scope backups:admin, or was not given every hotel.",
        [("permission_denied", "This needs an API key with the scope 'backups:admin'...")],
    ),
    404: ("No backup with this id.", [("not_found", "Not found.")]),
    409: (
        "The backup cannot be restored (checksum, key, newer version, missing file...).",
        [("restore_refused", "The backup was made by a newer Pema.")],
    ),
    429: (
        "Too many requests; see the Retry-After header.",
        [("rate_limited", "Request was throttled. Expected available in 12 seconds.")],
    ),
}
COMMON = (401, 403, 429)


def errors(*statuses: int) -> dict:
    return documented_errors(ERRORS, set(COMMON) | set(statuses))


class SystemBackupSerializer(serializers.ModelSerializer):
    rows = serializers.IntegerField(read_only=True)

    class Meta:
        model = SystemBackup
        fields = [
            "id",
            "file_name",
            "size",
            "checksum",
            "counts",
            "rows",
            "status",
            "kind",
            "apps",
            "exclude_audit",
            "compressed",
            "encrypted",
            "created_by",
            "created_by_key",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
        ]
        read_only_fields = fields


class CreateBackupSerializer(JsonTypes):
    apps = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    exclude_audit = serializers.BooleanField(required=False, default=False)
    compress = serializers.BooleanField(required=False, default=True)
    encrypt = serializers.BooleanField(required=False, default=False)


class BackupQueuedSerializer(serializers.Serializer):
    """The answer to a new backup: its record, still pending; the worker makes the file."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SystemBackup.Status.choices)


class RestoreSerializer(JsonTypes):
    mode = serializers.ChoiceField(choices=service.MODES, default="replace")
    validate_only = serializers.BooleanField(required=False, default=False)


class ModelReportSerializer(serializers.Serializer):
    label = serializers.CharField()
    in_backup = serializers.IntegerField()
    present = serializers.IntegerField()
    insert = serializers.IntegerField()
    replace = serializers.IntegerField()
    skip = serializers.IntegerField()
    delete = serializers.IntegerField()


class RestoreReportSerializer(serializers.Serializer):
    """What a restore did, or with ``validate_only`` would do, per model."""

    mode = serializers.CharField()
    validate_only = serializers.BooleanField()
    manifest = serializers.DictField()
    models = ModelReportSerializer(many=True)
    detached = serializers.DictField(child=serializers.IntegerField())
    seconds = serializers.FloatField()
    rows_written = serializers.IntegerField()


def _maker(request: Request) -> tuple[object | None, str]:
    """Who asks: a Django user, or else the credential (an API key) as its name and prefix."""
    if isinstance(request.user, get_user_model()):
        return request.user, ""
    credential = request.auth
    return None, (str(credential)[:150] if credential is not None else "")


def error_response(code: str, message: str, http_status: int) -> Response:
    """The API's error shape (the project's exception handler gives it to every other error)."""
    return Response(error_body(code, message), status=http_status)


@extend_schema_view(
    list=extend_schema(responses={200: SystemBackupSerializer(many=True), **errors(400)}),
    retrieve=extend_schema(responses={200: SystemBackupSerializer, **errors(404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
)
class SystemBackupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List, make, inspect, restore and delete backups."""

    queryset = SystemBackup.objects.select_related("created_by")
    serializer_class = SystemBackupSerializer
    # A backup holds every hotel's data: a key limited to some hotels may not
    # list, make, restore or delete one.
    permission_classes = [staff_or_scope(SCOPE, every_hotel=True)]
    filterset_fields = ["status", "kind"]

    @extend_schema(
        request=CreateBackupSerializer,
        responses={202: BackupQueuedSerializer, **errors(400)},
        description="Queue a backup; the worker makes the file. Poll the record for its status.",
    )
    def create(self, request: Request) -> Response:
        params = CreateBackupSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user, key = _maker(request)
        from .tasks import run_backup

        try:
            with transaction.atomic():
                backup = service.start_backup(user=user, **params.validated_data)
                if key:
                    backup.created_by_key = key
                    backup.save(update_fields=["created_by_key"])
                enqueue_on_commit(run_backup, backup.pk)
        except service.BackupError as exc:
            return error_response("invalid_backup", str(exc), status.HTTP_400_BAD_REQUEST)
        body = BackupQueuedSerializer({"id": backup.pk, "status": backup.status}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=RestoreSerializer,
        responses={200: RestoreReportSerializer, **errors(400, 404, 409)},
        description="Restore the backup (or with validate_only, report what would change).",
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk=None) -> Response:
        backup = self.get_object()
        params = RestoreSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            report = service.restore(
                backup,
                mode=params.validated_data["mode"],
                validate_only=params.validated_data["validate_only"],
            )
        except service.BackupError as exc:
            return error_response("restore_refused", str(exc), status.HTTP_409_CONFLICT)
        return Response(RestoreReportSerializer(report.as_dict()).data)
