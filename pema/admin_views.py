"""Admin views that belong to no app: the status fragment of long work (``pema.progress``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import progress


def progress_view(request: HttpRequest, token: str) -> HttpResponse:
    """The progress bar of one piece of work; htmx polls it until the work ends."""
    record = progress.get(token)
    if not progress.visible_to(record, request.user):
        raise Http404("No such work.")
    return TemplateResponse(request, "admin/pema/progress.html", {"progress": record})
