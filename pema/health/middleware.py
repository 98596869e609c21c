"""Answers ``/healthz/`` and ``/readyz/`` before the rest of the middleware.

Probes come from inside the container or cluster, by IP or ``localhost``:
answering here means they need no host name in ``ALLOWED_HOSTS``, are not
redirected to HTTPS, and cost no session, authentication or audit work.
"""

from __future__ import annotations

import logging
import threading

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

from .checks import readiness

logger = logging.getLogger(__name__)
LIVENESS_PATH = "/healthz/"
READINESS_PATH = "/readyz/"
_last_ready: dict[str, bool] = {}
_lock = threading.Lock()


def liveness() -> JsonResponse:
    """The process serves requests; nothing else is asked."""
    return JsonResponse({"status": "alive"})


def readiness_response() -> JsonResponse:
    """200 when the database, cache and broker all answer, else 503; always the details."""
    report = readiness()
    response = JsonResponse(report.as_json(), status=200 if report.ready else 503)
    _log_change(report.ready, [name for name, r in report.checks.items() if not r.ok])
    # Django would log every 503 as an error, once per probe (every 10 s in an
    # outage); a change of state is logged once instead, above.
    response._has_been_logged = True
    return response


def _log_change(ready: bool, failing: list[str]) -> None:
    with _lock:
        before = _last_ready.get("ready", True)
        _last_ready["ready"] = ready
    if before and not ready:
        logger.warning("Not ready: %s unreachable.", ", ".join(failing))
    elif ready and not before:
        logger.warning("Ready again.")


class HealthCheckMiddleware:
    """Serves the two probe paths; every other request goes on untouched."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in (LIVENESS_PATH, READINESS_PATH):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response: HttpResponse = JsonResponse({"status": "method not allowed"}, status=405)
            response["Allow"] = "GET, HEAD"
        elif path == LIVENESS_PATH:
            response = liveness()
        else:
            response = readiness_response()
        add_never_cache_headers(response)
        return response
