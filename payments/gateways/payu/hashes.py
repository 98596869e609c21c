"""PayU's SHA-512 hashes (lowercase hex), over the exact strings sent or received.

- request: ``sha512(key|txnid|amount|productinfo|firstname|email|udf1..udf5||||||SALT)``
- response (reverse), what PayU posts to surl/furl and the webhook:
  ``sha512(SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key)``,
  prefixed ``additionalCharges|`` when PayU added charges;
- command API: ``sha512(key|command|var1|SALT)``.

The formulas follow PayU's documentation, not its SDKs (one of which leaves
``status`` out of the reverse hash). Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

UDFS = ("udf1", "udf2", "udf3", "udf4", "udf5")


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def request_hash(fields: Mapping[str, str], salt: str) -> str:
    """The hash of a ``_payment`` request; a UDF not sent is an empty string in its place."""
    parts = [fields.get(name, "") for name in ("key", "txnid", "amount", "productinfo")]
    parts += [fields.get("firstname", ""), fields.get("email", "")]
    parts += [fields.get(udf, "") for udf in UDFS]
    return sha512("|".join([*parts, "", "", "", "", "", salt]))


def response_hash(fields: Mapping[str, str], salt: str) -> str:
    """The reverse hash of a response PayU posts back (``additional_charges`` included)."""
    parts = [salt, fields.get("status", ""), "", "", "", "", ""]
    parts += [fields.get(udf, "") for udf in reversed(UDFS)]
    parts += [fields.get(name, "") for name in ("email", "firstname", "productinfo")]
    parts += [fields.get(name, "") for name in ("amount", "txnid", "key")]
    charges = fields.get("additional_charges") or fields.get("additionalCharges") or ""
    if charges:
        parts.insert(0, charges)
    return sha512("|".join(parts))


def command_hash(key: str, command: str, var1: str, salt: str) -> str:
    """The hash of a General API call (verify_payment, cancel_refund_transaction, ...)."""
    return sha512(f"{key}|{command}|{var1}|{salt}")


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two hex hashes (case-insensitive)."""
    return hmac.compare_digest(expected.lower(), (given or "").strip().lower())
