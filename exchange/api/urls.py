"""The API object: routers, error handlers, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from exchange.api import account, markets, orders
from exchange.api.errors import install_handlers
from exchange.api.keys import connect_signals
from exchange.api.route_errors import with_json_refusals

DESCRIPTION = """
Trader API of the Spot exchange.

**Signing.** Private endpoints take either a browser session (the admin login,
with CSRF on unsafe methods) or an API key: sign the bytes
`{timestamp}\\n{METHOD}\\n{path?query}\\n{body}` with the key's Ed25519
private key and send `X-Spot-Key`, `X-Spot-Timestamp` (Unix ms, within
API_RECV_WINDOW_MS of the server's clock) and `X-Spot-Signature` (base64).
`path?query` is the request target as sent, percent-encoding included.
A signature of a POST, PATCH or DELETE is accepted once.

**Errors** are `{"code": "...", "message": "..."}` with a stable `code`.
A 429 or 503 carries `Retry-After`; retrying a POST /orders with the same
`client_order_id` and body is always safe (the same id with another order is
refused, 409 `DUPLICATE_CLIENT_ORDER_ID`). Under /api/, an unknown route is
404 `NOT_FOUND` and a method a path does not take 405 `METHOD_NOT_ALLOWED`.

**Amounts** are decimal strings ("0.015"). Answers write them in plain
notation without exponent or trailing zeros ("12000", "0" for zero); times are
Unix milliseconds. Order and trade ids are strings of digits (they exceed 2^53).
"""

api = NinjaAPI(
    title="Spot exchange API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_handlers(api)
api.add_router("", orders.router)
api.add_router("", account.router)
api.add_router("", markets.router)

# Revocations made in this process reach every API process through Redis.
connect_signals()

urls = with_json_refusals(api.urls)
