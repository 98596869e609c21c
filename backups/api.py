"""The staff API for backups under ``/api/v1/backups/`` (scope ``backups:admin``).

Making a backup is queued to a Celery worker (202 with the record's id and
status); restoring runs in the request, since its caller wants the report.
Errors are JSON: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from pema.api import staff_or_scope

from . import service
from .models import SystemBackup

SCOPE = "backups:admin"


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
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
        ]
        read_only_fields = fields


class CreateBackupSerializer(serializers.Serializer):
    apps = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    exclude_audit = serializers.BooleanField(required=False, default=False)
    compress = serializers.BooleanField(required=False, default=True)
    encrypt = serializers.BooleanField(required=False, default=False)


class RestoreSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=service.MODES, default="replace")
    validate_only = serializers.BooleanField(required=False, default=False)


def error_response(code: str, message: str, http_status: int) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=http_status)


def backups_exception_handler(exc, context):
    """DRF's handler, with the body reshaped into the API's error format."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        code, message = "invalid", exc.detail
    elif isinstance(exc, APIException):
        code, message = exc.get_codes(), str(exc.detail)
        code = code if isinstance(code, str) else "error"
    elif isinstance(exc, Http404):
        code, message = "not_found", "Not found."
    elif isinstance(exc, PermissionDenied):
        code, message = "permission_denied", "You do not have permission to do this."
    else:
        code, message = "error", str(exc)
    response.data = {"error": {"code": code, "message": message}}
    return response


class SystemBackupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List, make, inspect, restore and delete backups."""

    queryset = SystemBackup.objects.select_related("created_by")
    serializer_class = SystemBackupSerializer
    permission_classes = [staff_or_scope(SCOPE)]
    filterset_fields = ["status", "kind"]

    def get_exception_handler(self):
        return backups_exception_handler

    def create(self, request: Request) -> Response:
        params = CreateBackupSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            backup = service.start_backup(user=request.user, **params.validated_data)
        except service.BackupError as exc:
            return error_response("invalid_backup", str(exc), status.HTTP_400_BAD_REQUEST)
        from .tasks import run_backup

        transaction.on_commit(lambda: run_backup.delay(backup.pk))
        return Response({"id": backup.pk, "status": backup.status}, status=status.HTTP_202_ACCEPTED)

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
        return Response(report.as_dict())
