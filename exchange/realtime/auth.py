"""Who is on a connection: the same Ed25519 signed-key check as the REST API.

A client proves an API key (with the read scope) either in the upgrade
request's headers or in an "auth" frame, by signing, exactly as a REST
client signs a request,

    "{timestamp}\\nGET\\n/ws/\\n"

(empty body) and sending X-Spot-Key / X-Spot-Timestamp / X-Spot-Signature,
or {"op": "auth", "key", "timestamp", "signature"}. Unlike a REST GET, a
WebSocket login is single-use: the same signature is refused a second time
within the receive window, so a captured handshake cannot open another
session.

A browser on the exchange's own pages (the market page at /) logs in with
its Django session instead: the session cookie of the upgrade request counts
only when the request's Origin is the page's own (its Host, or one of
CSRF_TRUSTED_ORIGINS). A browser sends the cookie with any page's upgrade
request, so without the Origin check a foreign page could open a socket as
the visitor (cross-site WebSocket hijacking); with a foreign Origin the
connection stays anonymous.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest

from exchange.api.auth import READ, authenticate_signed
from exchange.api.errors import ApiError
from exchange.api.ratelimit import admit
from exchange.realtime.protocol import ProtocolError

SIGNED_PATH = "/ws/"
_HEADERS = {b"x-spot-key": "key", b"x-spot-timestamp": "timestamp", b"x-spot-signature": "signature"}


def credentials_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str] | None:
    """The signed-key headers of an upgrade request; None when it carries none of them."""
    found = {
        _HEADERS[name.lower()]: value.decode("latin-1") for name, value in headers if name.lower() in _HEADERS
    }
    return found or None


def authenticate(credentials: dict[str, str]) -> int:
    """The user id behind valid credentials; ProtocolError with the API's code otherwise (DB and Redis)."""
    meta = {
        "HTTP_X_SPOT_KEY": credentials.get("key", ""),
        "HTTP_X_SPOT_TIMESTAMP": credentials.get("timestamp", ""),
        "HTTP_X_SPOT_SIGNATURE": credentials.get("signature", ""),
    }
    try:
        principal = authenticate_signed(meta, "GET", SIGNED_PATH, b"", READ)
        if principal is None:
            raise ProtocolError("UNAUTHENTICATED", "send key, timestamp and signature")
        # cost 0: only the replay marker, the request was already counted.
        admit(f"k:{principal.key_id}", credentials["signature"], cost=0)
    except ApiError as exc:
        raise ProtocolError(exc.code, exc.message) from None
    return principal.user_id


def session_key_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The session cookie of a same-origin upgrade request; None for another origin or no session."""
    found: dict[bytes, str] = {}
    for name, value in headers:
        if name.lower() in (b"origin", b"host", b"cookie"):
            found[name.lower()] = value.decode("latin-1")
    origin, host = found.get(b"origin"), found.get(b"host")
    if origin is None or host is None or not _same_origin(origin, host):
        return None
    try:
        cookie = SimpleCookie(found.get(b"cookie", ""))
    except CookieError:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None and morsel.value else None


def _same_origin(origin: str, host: str) -> bool:
    if origin.rstrip("/") in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def authenticate_session(session_key: str) -> int | None:
    """The active user logged in by this session (its auth hash checked, as Django does), or None."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    if not user.is_authenticated or not user.is_active:
        return None
    return int(user.pk)
