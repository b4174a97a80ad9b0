"""The requests a load-test trader sends, signed as the API wants them, independent of any HTTP client.

A request is built here (method, target, body, headers) and sent by the
locust user's client, so a test can send the very same request through the
in-process API and check that the server accepts the signature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.api.signing import private_key_from_text, signed_headers

API = "/api/v1"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target: str  # path and query, as sent (the API prefix included)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""  # how locust groups it in its statistics


@dataclass(frozen=True)
class Trader:
    """One load user's API key, and the path prefix of the deployment (`--host https://x/spot` → "/spot")."""

    user_id: int
    key_id: str
    private_key: Ed25519PrivateKey
    base_path: str = ""

    @classmethod
    def from_keys_entry(cls, entry: dict[str, Any], host: str = "") -> Trader:
        return cls(
            int(entry["user_id"]),
            entry["key_id"],
            private_key_from_text(entry["private_key"]),
            urlsplit(host).path.rstrip("/"),
        )

    def sign(self, method: str, target: str, body: bytes = b"", name: str = "") -> SignedRequest:
        full = f"{self.base_path}{target}"
        headers = signed_headers(self.key_id, self.private_key, method, full, body)
        if body:
            headers["Content-Type"] = "application/json"
        return SignedRequest(method, full, body, headers, name or f"{method} {target}")

    # ------------------------------------------------------------ trading

    def place(self, fields: dict[str, Any], name: str) -> SignedRequest:
        return self.sign("POST", f"{API}/orders", _json(fields), name)

    def amend(self, order_id: int, price: str) -> SignedRequest:
        return self.sign("PATCH", f"{API}/orders/{order_id}", _json({"price": price}), "PATCH /orders/{id}")

    def cancel(self, order_id: int) -> SignedRequest:
        return self.sign("DELETE", f"{API}/orders/{order_id}", name="DELETE /orders/{id}")

    def cancel_all(self, symbol: str) -> SignedRequest:
        return self.sign("DELETE", f"{API}/orders?market={symbol}", name="DELETE /orders?market")

    # ------------------------------------------------------------ reading

    def open_orders(self, symbol: str) -> SignedRequest:
        return self.sign("GET", f"{API}/orders?market={symbol}&open_only=true", name="GET /orders (open)")

    def balances(self) -> SignedRequest:
        return self.sign("GET", f"{API}/balances", name="GET /balances")

    def ws_login(self, timestamp_ms: int | None = None) -> dict[str, str]:
        """The private WebSocket's auth frame: the same signature over "GET /ws/" with an empty body."""
        headers = signed_headers(self.key_id, self.private_key, "GET", "/ws/", b"", timestamp_ms)
        return {
            "op": "auth",
            "key": headers["X-Spot-Key"],
            "timestamp": headers["X-Spot-Timestamp"],
            "signature": headers["X-Spot-Signature"],
        }


def public(method: str, target: str, name: str, base_path: str = "") -> SignedRequest:
    """A market data request: no signature."""
    return SignedRequest(method, f"{base_path}{target}", name=name)


def market_path(symbol: str) -> str:
    return f"{API}/markets/{symbol}"


def _json(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()
