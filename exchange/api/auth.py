"""Who is asking: a signed request with an API key, or a browser session.

`authenticate_signed` works on a WSGI environ (or Django's request.META, which
is one), so the ninja views and the fast order path run the same checks in
the same order: headers, receive window, key, signature, scope, then the
Redis gate (revocation, replay, rate limit).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyHeader
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from exchange.api.errors import Forbidden, PayloadTooLarge, Unauthenticated
from exchange.api.keys import key_cache
from exchange.api.ratelimit import GateCall, admit, gate_call, run_gate
from exchange.api.request_target import signed_targets
from exchange.api.signing import KEY_HEADER, signature_is_valid, string_to_sign

READ = "read"
TRADE = "trade"
ALL_SCOPES = frozenset({READ, TRADE})
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Principal:
    user_id: int
    scopes: frozenset[str]
    key_id: str | None = None  # None for a browser session
    # The Redis gate still to run: authenticate_signed(defer_gate=True) leaves it to the caller,
    # which runs it with the order's own script (exchange.api.placing) or alone (run_gate).
    gate: GateCall | None = None


def check_body_size(meta: Mapping[str, Any]) -> None:
    """Refuse an oversized body before anything reads it."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {settings.API_MAX_BODY_BYTES} bytes")


def authenticate_signed(
    meta: Mapping[str, Any],
    method: str,
    target: str | Sequence[str],
    body: bytes,
    scope: str,
    defer_gate: bool = False,
) -> Principal | None:
    """The principal of a signed request; None when it carries no signature headers at all.

    `target` is the path and query as signed, or the forms it may have been
    signed in when the server did not keep the path as sent (exchange.api.request_target).
    With `defer_gate` the Redis gate is not run but returned in the principal,
    for a caller that runs it in the same round trip as its own script.
    """
    key_id = meta.get("HTTP_X_SPOT_KEY")
    timestamp = meta.get("HTTP_X_SPOT_TIMESTAMP")
    signature = meta.get("HTTP_X_SPOT_SIGNATURE")
    if not (key_id or timestamp or signature):
        return None
    if not (key_id and timestamp and signature):
        raise Unauthenticated(
            "send X-Spot-Key, X-Spot-Timestamp and X-Spot-Signature together", "MISSING_SIGNATURE"
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise Unauthenticated("X-Spot-Timestamp must be Unix time in milliseconds", "BAD_TIMESTAMP")
    if abs(time.time() * 1000 - int(timestamp)) > settings.API_RECV_WINDOW_MS:
        raise Unauthenticated(
            f"X-Spot-Timestamp is more than {settings.API_RECV_WINDOW_MS} ms from the server's clock",
            "STALE_TIMESTAMP",
        )
    record = key_cache.get(key_id) if len(key_id) <= 64 else None
    if record is None:
        raise Unauthenticated("unknown API key", "UNKNOWN_KEY")
    if not record.active:
        raise Unauthenticated("the API key is revoked", "KEY_REVOKED")
    if record.public_key is None:
        raise Unauthenticated("an HMAC key signs on the Binance-compatible /api/v3 only", "WRONG_KEY_KIND")
    targets = (target,) if isinstance(target, str) else target
    public_key = record.public_key
    if not any(
        signature_is_valid(public_key, signature, string_to_sign(timestamp, method, each, body))
        for each in targets
    ):
        raise Unauthenticated("the signature does not match the request", "BAD_SIGNATURE")
    if scope not in record.scopes:
        raise Forbidden(f"the API key lacks the {scope!r} scope")
    # Replaying a read shows nothing new; replaying a write could repeat an order.
    gate = gate_call(f"k:{key_id}", None if method in _SAFE_METHODS else signature)
    if defer_gate:
        return Principal(record.user_id, record.scopes, key_id, gate)
    run_gate(gate)
    return Principal(record.user_id, record.scopes, key_id)


def request_targets(request: HttpRequest) -> tuple[str, ...]:
    """The path and query as the client sent them (and signed them), by the server's account."""
    scope = getattr(request, "scope", None)  # an ASGIRequest keeps the ASGI scope, with raw_path
    raw_path = scope.get("raw_path") if isinstance(scope, dict) else None
    return signed_targets(request.META, request.path, raw_path)


class SignedRequest(APIKeyHeader):
    """Ed25519 signature of timestamp, method, path and body (see exchange.api.signing)."""

    param_name = KEY_HEADER
    openapi_description = (
        "Sign `{X-Spot-Timestamp}\\n{METHOD}\\n{path?query}\\n{body}` with the API key's Ed25519 "
        "private key; send X-Spot-Key, X-Spot-Timestamp (Unix ms) and X-Spot-Signature (base64)."
    )

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal | None:
        check_body_size(request.META)
        return authenticate_signed(
            request.META, request.method or "GET", request_targets(request), request.body, self.scope
        )

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        raise NotImplementedError  # __call__ does the work


class BrowserSession(AuthBase):
    """A logged-in Django session (the admin's login), with CSRF on unsafe methods."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Principal | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in _SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden("CSRF check failed", "CSRF_FAILED")
        check_body_size(request.META)
        admit(f"u:{user.pk}")
        return Principal(user.pk, ALL_SCOPES)


def auth_for(scope: str) -> list[Any]:
    return [SignedRequest(scope), BrowserSession()]
