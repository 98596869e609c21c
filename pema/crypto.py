"""Encryption at rest for secrets kept in the database (partner credentials).

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256) keyed from the setting
``FIELD_ENCRYPTION_KEY``. Settings refuse to start without that key when
DEBUG is off; in development a key is derived from ``SECRET_KEY`` so a fresh
checkout works.

Keys can be rotated: new values are always written with
``FIELD_ENCRYPTION_KEY``, while the keys in ``FIELD_ENCRYPTION_KEYS`` (older
ones) still decrypt. :func:`reencrypt_all` (``manage.py
rotate_encryption_key``) then rewrites every encrypted value of every model
with the current key, after which the old keys can go. A value no key opens
raises ``ImproperlyConfigured`` rather than silently reading as empty
credentials.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Cast

UNREADABLE = (
    "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY or any key in "
    "FIELD_ENCRYPTION_KEYS: the key it was written with has changed. Put that old key into "
    "FIELD_ENCRYPTION_KEYS, then run `manage.py rotate_encryption_key` (README: Key rotation)."
)


def derive_key(secret: str) -> bytes:
    """A Fernet key (32 url-safe base64 bytes) derived from any secret string."""
    digest = hashlib.sha256(b"pema-field-encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _as_fernet(key: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # Any passphrase works as a key: stretch it to the shape Fernet wants.
        return Fernet(derive_key(str(key)))


@functools.lru_cache(maxsize=8)
def _keyring(current: str, older: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    primary = _as_fernet(current)
    return primary, MultiFernet([primary, *(_as_fernet(key) for key in older if key)])


def _keys() -> tuple[Fernet, MultiFernet]:
    """The current key alone, and the current key followed by the older ones."""
    older = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())
    return _keyring(str(settings.FIELD_ENCRYPTION_KEY), older)


def encrypt(value: str) -> str:
    return _keys()[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys()[1].decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(UNREADABLE) from exc


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


# --- Re-keying -------------------------------------------------------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    """Every encrypted field of every installed model (each table once: no proxies)."""
    return [
        (model, f)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedJSONField)
    ]


@dataclass
class RotationReport:
    """What a re-encryption found, per ``app_label.Model.field``."""

    rewritten: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)  # already under the current key
    unreadable: dict[str, list[Any]] = field(default_factory=dict)  # primary keys

    @property
    def ok(self) -> bool:
        return not self.unreadable


class KeyRotationError(Exception):
    """Some values open with no configured key: nothing was changed."""

    def __init__(self, report: RotationReport) -> None:
        self.report = report
        where = "; ".join(f"{name} ids {ids}" for name, ids in report.unreadable.items())
        super().__init__(f"{where}: {UNREADABLE}")


def reencrypt_all(*, dry_run: bool = False) -> RotationReport:
    """Rewrite every encrypted value with ``FIELD_ENCRYPTION_KEY``, in one transaction.

    Values are read and written as the stored tokens (cast to plain text, so
    the field never decrypts or encrypts them): a value already under the
    current key is left alone, one under an older key is re-encrypted, keeping
    its original timestamp. If any value opens with no key, nothing is changed
    and :class:`KeyRotationError` lists them.
    """
    primary, keyring = _keys()
    report = RotationReport()
    with transaction.atomic():
        for model, encrypted in encrypted_fields():
            name = f"{model._meta.label}.{encrypted.name}"
            rows = (
                model._base_manager.select_for_update()
                .annotate(token=Cast(encrypted.attname, models.TextField()))
                .values_list("pk", "token")
            )
            rewritten = []
            for pk, token in rows:
                if not token:
                    continue  # never written: reads as {}
                try:
                    primary.decrypt(token.encode())
                except InvalidToken:
                    pass
                else:
                    report.current[name] = report.current.get(name, 0) + 1
                    continue
                try:
                    rewritten.append((pk, keyring.rotate(token.encode()).decode()))
                except InvalidToken:
                    report.unreadable.setdefault(name, []).append(pk)
            report.rewritten[name] = len(rewritten)
            if dry_run:
                continue
            for pk, token in rewritten:
                # An expression, so the token is stored as it is (not encrypted again).
                model._base_manager.filter(pk=pk).update(
                    **{encrypted.attname: models.Value(token, output_field=models.TextField())}
                )
        if report.unreadable:
            raise KeyRotationError(report)
    return report
