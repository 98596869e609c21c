"""``Idempotency-Key`` for writes: a retried request returns the first answer.

The record is inserted in the same transaction as the booking. A retry's
insert fails on the unique index and the stored answer is replayed; a
concurrent request with the same key blocks on the index until the first one
commits, then does the same, so ten simultaneous retries make one booking.
A request that fails rolls back its record too: the key may be used again
(with the same body or, after fixing it, another one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from pema.sql import insert_rows, save_fields

from ..models import ApiKey, IdempotencyRecord
from .errors import ApiError
from .schema import IDEMPOTENCY_KEY_LENGTH

HEADER = "HTTP_IDEMPOTENCY_KEY"
# Printable ASCII, long enough that two attempts do not pick the same key by chance.
_SHORTEST, _LONGEST = IDEMPOTENCY_KEY_LENGTH
_SANE_KEY = re.compile(rf"[\x21-\x7e]{{{_SHORTEST},{_LONGEST}}}")


def _owner(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request, payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def required_key(request) -> str:
    """The request's key; a 400 when it is missing or not printable ASCII."""
    key = request.META.get(HEADER, "")
    if not key:
        raise ApiError(
            400,
            "idempotency_key_required",
            "Send an Idempotency-Key header (e.g. a UUID) so the request is safe to retry.",
        )
    if not _SANE_KEY.fullmatch(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"The Idempotency-Key must be {_SHORTEST} to {_LONGEST} printable ASCII characters "
            "(a UUID will do).",
        )
    return key


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key.",
        )
    return Response(
        record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
    )


def replay_if_done(request, payload) -> Response | None:
    """The stored answer when this key was already used by this caller, else None."""
    key = required_key(request)
    existing = IdempotencyRecord.objects.filter(owner=_owner(request), key=key).first()
    return None if existing is None else _replay(existing, _fingerprint(request, payload))


def run_once(request, payload, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` once per (caller, key); replay its stored answer on a retry."""
    key = required_key(request)
    owner = _owner(request)
    fingerprint = _fingerprint(request, payload)
    # No lookup first: the insert below finds a retry by itself (the unique index
    # refuses it), so a new request, the common case, saves a round trip.
    try:
        with transaction.atomic():
            # Both statements by hand (``pema.sql``): they are on every booking's path,
            # and the ORM's save cost several times what the database does with them.
            record = IdempotencyRecord(
                api_key=request.auth if isinstance(request.auth, ApiKey) else None,
                owner=owner,
                key=key,
                method=request.method,
                path=request.path[:500],
                request_hash=fingerprint,
            )
            insert_rows([record])
            response = handler()
            record.status_code = response.status_code
            record.response_body = response.data
            save_fields(record, ["status_code", "response_body"])
            return response
    except IntegrityError:
        # A request with this key committed first (a retry, or a concurrent twin):
        # answer what it answered.
        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)
