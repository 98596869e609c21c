"""How a partner wants outbound calls authorised: the ``auth=`` hooks of :mod:`pema.http`.

Each hook adds its headers to a request just before :mod:`pema.http` sends it:

- :class:`BasicAuth`: HTTP Basic with a username and password (Booking.com's
  machine account);
- :class:`BearerTokenAuth`: ``Authorization: Bearer`` with a token fetched by a
  callable (:func:`client_credentials` builds one for an OAuth 2.0
  client-credentials token endpoint, :func:`json_token_exchange` for a partner's
  own JSON exchange), cached until shortly before it expires,
  fetched again then, and once more when the partner answers 401 (a token
  revoked before its time);
- :class:`QueryKeyAuth`: a key as a query parameter (Agoda's ``?apiKey=``),
  added to the URL just before sending;
- :class:`SignedHeadersAuth`: headers a callable computes for each request
  from its method, URL and body; :func:`key_secret_signature` is the common
  ``X-Signature = sha256(key + secret + unix seconds)`` scheme (Hotelbeds).

Secrets stay out of every log: the hooks' reprs name no credential, the
headers they add exist only on the wire (callers log bodies, never headers),
and a token endpoint's refusal is reported by its status and OAuth error code,
never its body.

Tokens are cached in this process, one slot per ``cache_key`` (a provider keys
it by its connection and a :func:`fingerprint` of the credentials, so new
credentials mean a new token), behind a lock per slot: threads of one worker
share a token and only one of them fetches it. Each worker process fetches its
own, which partners allow (a token is not revoked when another is issued).

authlib's OAuth2 client was not used: it is not among the project's installed
packages, and what is needed (one form POST, an expiry, one retry) is small
enough to keep on the one HTTP client, with its timeouts, deadline and size cap.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from pema import http
from pema.http import OutgoingRequest

__all__ = [
    "Auth",
    "BasicAuth",
    "BearerTokenAuth",
    "OutgoingRequest",
    "QueryKeyAuth",
    "SignedHeadersAuth",
    "Token",
    "TokenError",
    "TokenRefused",
    "client_credentials",
    "fingerprint",
    "json_token_exchange",
    "key_secret_signature",
]

#: Seconds before its expiry a token is no longer used (clock skew, time in flight).
REFRESH_LEEWAY = 60.0
#: A token answer is a few hundred bytes; anything far larger is not one.
TOKEN_ANSWER_MAX_BYTES = 64 * 1024


class Auth(Protocol):
    """An outbound call's signing or authorisation hook."""

    def apply(self, request: OutgoingRequest) -> None:
        """Add this hook's headers to ``request`` (called for every send)."""

    def refused(self, request: OutgoingRequest) -> bool:
        """The partner answered ``request`` with 401: True to send it once more, re-applied."""
        return False


class TokenError(http.RequestException):
    """No usable token: the token endpoint failed or answered something that is not one."""


class TokenRefused(TokenError):
    """The token endpoint refused these client credentials (HTTP 400, 401 or 403)."""

    def __init__(self, message: str, *, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


def fingerprint(*values: object) -> str:
    """A short digest of credentials, for a cache key that changes when they do."""
    digest = hashlib.sha256("\x1f".join(str(value) for value in values).encode())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------- Basic
class BasicAuth(Auth):
    """HTTP Basic (RFC 7617): ``Authorization: Basic base64(username:password)``."""

    def __init__(self, username: str, password: str) -> None:
        pair = f"{username}:{password}".encode()
        self._header = "Basic " + base64.b64encode(pair).decode("ascii")

    def __repr__(self) -> str:
        return "BasicAuth(***)"

    def apply(self, request: OutgoingRequest) -> None:
        request.headers["Authorization"] = self._header


# ---------------------------------------------------------------------- query key
class QueryKeyAuth(Auth):
    """A key sent as a query parameter (``?apiKey=...``), added to the final URL on send.

    The URL is the one place the key is: callers log bodies, never URLs, and a
    provider whose partner wants its key in the query redacts it from error texts
    (``Provider.redact``), since a connection error names the URL.
    """

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def __repr__(self) -> str:
        return f"QueryKeyAuth({self._name}=***)"

    def apply(self, request: OutgoingRequest) -> None:
        joiner = "&" if "?" in request.url else "?"
        request.url = f"{request.url}{joiner}{urlencode({self._name: self._value})}"


# ---------------------------------------------------------------------- bearer
@dataclass(frozen=True)
class Token:
    """An access token and when it expires (``time.time()`` seconds)."""

    access_token: str
    expires_at: float
    #: When it was issued; the leeway is at most half its life, so short tokens get used.
    issued_at: float = 0.0

    def __repr__(self) -> str:
        return f"Token(***, expires_at={self.expires_at})"

    def usable(self, now: float, leeway: float = REFRESH_LEEWAY) -> bool:
        life = self.expires_at - self.issued_at if self.issued_at else leeway * 2
        return now < self.expires_at - min(leeway, life / 2)

    @classmethod
    def lasting(cls, access_token: str, seconds: float) -> Token:
        """A token issued now, valid for ``seconds`` (an OAuth ``expires_in``)."""
        now = time.time()
        return cls(access_token, now + seconds, issued_at=now)


class _Slot:
    """One cached token and the lock its fetches are made under."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Token | None = None


_slots: dict[str, _Slot] = {}
_slots_lock = threading.Lock()


def _slot(key: str) -> _Slot:
    with _slots_lock:
        return _slots.setdefault(key, _Slot())


def forget_tokens() -> None:
    """Drop every cached token (tests; a process that must start afresh)."""
    with _slots_lock:
        _slots.clear()


class BearerTokenAuth(Auth):
    """``Authorization: Bearer <token>``, the token fetched by ``fetch_token`` and cached.

    The token is used until ``leeway`` seconds before it expires, then fetched
    again. A 401 answer drops it, and the request is sent once more with a new
    one; if a thread already replaced it, that newer token is used rather than
    fetching yet another.
    """

    def __init__(
        self,
        fetch_token: Callable[[], Token],
        *,
        cache_key: str,
        leeway: float = REFRESH_LEEWAY,
    ) -> None:
        self._fetch = fetch_token
        self._slot = _slot(cache_key)
        self._leeway = leeway

    def __repr__(self) -> str:
        return "BearerTokenAuth(***)"

    def token(self) -> str:
        """The access token to send now, fetched when there is none still usable."""
        slot = self._slot
        with slot.lock:  # held while fetching: the other threads wait and share the result
            if slot.token is None or not slot.token.usable(time.time(), self._leeway):
                slot.token = None
                fetched = self._fetch()
                if not isinstance(fetched, Token) or not fetched.access_token:
                    raise TokenError("The token endpoint gave no access token.")
                slot.token = fetched
            return slot.token.access_token

    def apply(self, request: OutgoingRequest) -> None:
        request.headers["Authorization"] = f"Bearer {self.token()}"

    def refused(self, request: OutgoingRequest) -> bool:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        slot = self._slot
        with slot.lock:
            if slot.token is not None and slot.token.access_token == sent:
                slot.token = None  # revoked early; another thread may have replaced it already
        return True


def client_credentials(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    scope: str = "",
    extra_fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    credentials_in_body: bool = False,
    default_lifetime: float = 300.0,
) -> Callable[[], Token]:
    """A ``fetch_token`` for an OAuth 2.0 client-credentials token endpoint (RFC 6749 §4.4).

    It POSTs ``grant_type=client_credentials`` (with ``scope`` and any
    ``extra_fields``) as a form, authenticating the client with HTTP Basic, or
    with ``client_id`` and ``client_secret`` form fields when
    ``credentials_in_body`` (RFC 6749 §2.3.1 allows both; partners pick one).
    ``headers`` are sent too (an application key, say). A token answer without
    ``expires_in`` is trusted for ``default_lifetime`` seconds.
    """
    fields = {"grant_type": "client_credentials", **(extra_fields or {})}
    if scope:
        fields["scope"] = scope
    if credentials_in_body:
        fields |= {"client_id": client_id, "client_secret": client_secret}
    client = None if credentials_in_body else BasicAuth(client_id, client_secret)

    def fetch() -> Token:
        answer = http.request(
            "POST",
            token_url,
            urlencode(fields).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                **(headers or {}),
            },
            auth=client,
            max_bytes=TOKEN_ANSWER_MAX_BYTES,
        )
        return parse_token_answer(answer, default_lifetime=default_lifetime)

    return fetch


def json_token_exchange(
    token_url: str,
    payload: dict[str, str],
    *,
    read_token: Callable[[object], str],
    lifetime: float,
    headers: dict[str, str] | None = None,
) -> Callable[[], Token]:
    """A ``fetch_token`` for a partner's own JSON token exchange (not OAuth's form POST).

    It POSTs ``payload`` as JSON; ``read_token`` takes the parsed answer and
    returns the token, or raises ``ValueError`` when the partner refused (an
    answer like ``{"success": false, ...}``), which becomes ``TokenRefused``.
    The token is trusted for ``lifetime`` seconds (the partner's documented
    life: Agoda's exchange answers no expiry). Errors name the status only.
    """

    def fetch() -> Token:
        answer = http.request(
            "POST",
            token_url,
            json=payload,
            headers={"Accept": "application/json", **(headers or {})},
            max_bytes=TOKEN_ANSWER_MAX_BYTES,
        )
        if answer.status in (400, 401, 403):
            raise TokenRefused(
                f"The token exchange refused the client credentials: HTTP {answer.status}.",
                http_status=answer.status,
            )
        if answer.status != 200 or len(answer.body) > TOKEN_ANSWER_MAX_BYTES:
            raise TokenError(f"The token exchange answered HTTP {answer.status}.")
        try:
            data = answer.json()
        except ValueError:
            raise TokenError("The token exchange's answer is not JSON.") from None
        try:
            token = read_token(data)
        except ValueError as exc:
            raise TokenRefused(f"The token exchange refused: {exc}", http_status=401) from None
        return Token.lasting(token, lifetime)

    return fetch


def parse_token_answer(answer: http.HttpResponse, *, default_lifetime: float = 300.0) -> Token:
    """The token of an OAuth 2.0 token answer (RFC 6749 §5.1); raise TokenError or TokenRefused.

    Error texts carry the status and the OAuth ``error`` code only: the body of
    a token answer is a secret, and the body of a refusal may echo one.
    """
    if answer.status in (400, 401, 403):
        code = ""
        try:
            error = answer.json().get("error")
            if isinstance(error, str) and error.replace("_", "").isalnum():
                code = f" ({error[:40]})"
        except (ValueError, AttributeError):
            pass
        raise TokenRefused(
            f"The token endpoint refused the client credentials: HTTP {answer.status}{code}.",
            http_status=answer.status,
        )
    if answer.status != 200:
        raise TokenError(f"The token endpoint answered HTTP {answer.status}.")
    if len(answer.body) > TOKEN_ANSWER_MAX_BYTES:
        raise TokenError("The token endpoint's answer is too large to be a token.")
    try:
        data = answer.json()
    except ValueError:
        raise TokenError("The token endpoint's answer is not JSON.") from None
    if not isinstance(data, dict):
        raise TokenError("The token endpoint's answer is not a JSON object.")
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TokenError("The token endpoint's answer has no access_token.")
    token_type = data.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError("The token endpoint issued a token that is not a bearer token.")
    expires_in = data.get("expires_in", default_lifetime)
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        raise TokenError("The token endpoint's expires_in is not a number.") from None
    if not 0 < seconds < 10 * 365 * 86400:
        raise TokenError("The token endpoint's expires_in is out of range.")
    return Token.lasting(access_token, seconds)


# ---------------------------------------------------------------------- signed headers
class SignedHeadersAuth(Auth):
    """Headers computed by ``sign`` for each request, from its method, URL and body.

    ``sign`` is called for every send (a retry included), so a signature over a
    timestamp is always fresh.
    """

    def __init__(self, sign: Callable[[OutgoingRequest], dict[str, str]]) -> None:
        self._sign = sign

    def __repr__(self) -> str:
        return "SignedHeadersAuth(***)"

    def apply(self, request: OutgoingRequest) -> None:
        request.headers.update(self._sign(request))


def key_secret_signature(
    api_key: str,
    secret: str,
    *,
    key_header: str = "Api-key",
    signature_header: str = "X-Signature",
    clock: Callable[[], float] | None = None,
) -> Callable[[OutgoingRequest], dict[str, str]]:
    """A ``sign`` for ``signature = hex(sha256(api_key + secret + unix seconds))``.

    This is Hotelbeds' scheme: the key in ``Api-key``, the signature in
    ``X-Signature``, the time the request is sent in whole seconds (the
    partner accepts a few minutes of clock difference). ``clock`` gives the time
    (``time.time`` unless a test fixes it); it is read for every request.
    """

    def sign(request: OutgoingRequest) -> dict[str, str]:
        now = str(int(clock() if clock is not None else time.time()))
        signature = hashlib.sha256(f"{api_key}{secret}{now}".encode()).hexdigest()
        return {key_header: api_key, signature_header: signature}

    return sign
