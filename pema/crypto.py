"""Encryption at rest for secrets kept in the database (partner credentials).

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) keyed from the setting
``FIELD_ENCRYPTION_KEY``. Settings refuse to start without that key when
DEBUG is off; in development a key is derived from ``SECRET_KEY`` so a fresh
checkout works. Changing the key makes existing values unreadable: reading
one then raises ``ImproperlyConfigured`` rather than silently returning empty
credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def derive_key(secret: str) -> bytes:
    """A Fernet key (32 url-safe base64 bytes) derived from any secret string."""
    digest = hashlib.sha256(b"pema-field-encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # Any passphrase works as a key: stretch it to the shape Fernet wants.
        return Fernet(derive_key(str(key)))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY has changed."
        ) from exc


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token; the database never sees the plain text."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None or value == "":
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(decrypt(value))
            except ImproperlyConfigured:
                return json.loads(value)
        return value if value is not None else {}

    def get_prep_value(self, value: Any) -> str:
        return encrypt(json.dumps(value if value is not None else {}, sort_keys=True))

    def value_to_string(self, obj) -> str:
        # Dumps (fixtures, backups) keep the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
