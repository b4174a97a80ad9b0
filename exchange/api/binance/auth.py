"""Binance's request signing on the exchange's own keys.

X-MBX-APIKEY names the key; `timestamp` (Unix ms) and `recvWindow` (ms, at
most 60,000; 5,000 by default) bound when the request may arrive; the
`signature` is HMAC-SHA256 (hex) with an HMAC key's secret, or Ed25519
(base64) with an Ed25519 key, of the signed payload (exchange.api.binance.params).
Then the same gate as /api/v1: scope, revocation, replay (a signature of a
POST or DELETE is accepted once) and the key's rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import unquote

from django.http import HttpRequest

from exchange.api.auth import Principal
from exchange.api.binance import errors
from exchange.api.binance.errors import BinanceError
from exchange.api.binance.params import Params
from exchange.api.errors import ApiError
from exchange.api.keys import KeyRecord, key_cache
from exchange.api.ratelimit import admit
from exchange.api.signing import signature_is_valid

API_KEY_HEADER = "HTTP_X_MBX_APIKEY"
MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
AHEAD_ALLOWED_MS = 1_000
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticate(request: HttpRequest, params: Params, scope: str) -> Principal:
    key_id = request.META.get(API_KEY_HEADER, "")
    if not key_id:
        raise BinanceError(errors.UNAUTHORIZED, "API-key required for this request.", 401)
    if len(key_id) > 64:
        raise BinanceError(errors.BAD_API_KEY_FORMAT, "API-key format invalid.", 401)
    _check_time(params)
    signature = params.signature
    if not signature:
        raise errors.mandatory("signature")
    try:
        record = key_cache.get(key_id)
        if record is None or not record.active or scope not in record.scopes:
            raise BinanceError(
                errors.REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action.", 401
            )
        if not _signature_matches(record, signature, params.signed_payload.encode()):
            raise BinanceError(errors.INVALID_SIGNATURE, "Signature for this request is not valid.")
        admit(f"k:{key_id}", None if request.method in _SAFE_METHODS else signature)
    except ApiError as exc:
        raise errors.from_api_error(exc) from None
    return Principal(record.user_id, record.scopes, key_id)


def _check_time(params: Params) -> None:
    timestamp = params.integer("timestamp")
    if timestamp is None:
        raise errors.mandatory("timestamp")
    window = params.integer("recvWindow", DEFAULT_RECV_WINDOW_MS, low=1)
    assert window is not None
    if window > MAX_RECV_WINDOW_MS:
        raise BinanceError(errors.INVALID_PARAMETER, f"recvWindow must be at most {MAX_RECV_WINDOW_MS}.")
    now = int(time.time() * 1000)
    if timestamp >= now + AHEAD_ALLOWED_MS:
        raise BinanceError(
            errors.INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now - timestamp > window:
        raise BinanceError(
            errors.INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )


def _signature_matches(record: KeyRecord, signature: str, payload: bytes) -> bool:
    if record.hmac_secret is not None:
        expected = hmac.new(record.hmac_secret, payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.lower())
    assert record.public_key is not None
    return signature_is_valid(record.public_key, unquote(signature), payload)
