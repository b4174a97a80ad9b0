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
"""

from __future__ import annotations

from collections.abc import Iterable

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
