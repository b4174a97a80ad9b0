"""The request signature: what is signed and how, for the server and for clients.

A trader signs, with the Ed25519 private key of an API key, the bytes

    "{timestamp}\\n{METHOD}\\n{path}\\n" + body

where `timestamp` is the X-Spot-Timestamp header (Unix milliseconds), METHOD
is upper case, `path` is the request target as sent, percent-encoding and all
(path, and `?query` when there is one, e.g. ``/api/v1/orders?market=BTC%2FUSDT``;
see exchange.api.request_target) and `body` the raw body bytes (empty for GET).
The base64 of the 64-byte signature goes in X-Spot-Signature, the key's id in
X-Spot-Key.
"""

from __future__ import annotations

import base64
import binascii
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

KEY_HEADER = "X-Spot-Key"
TIMESTAMP_HEADER = "X-Spot-Timestamp"
SIGNATURE_HEADER = "X-Spot-Signature"


def string_to_sign(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body


def verifier(public_key: Ed25519PublicKey) -> VerifyKey:
    # libsodium verifies in half the time OpenSSL takes here (benchmarks/api/README.md),
    # and refuses the non-canonical encodings OpenSSL lets through.
    return VerifyKey(public_key.public_bytes_raw())


def signature_is_valid(key: VerifyKey, signature_b64: str, message: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != 64:
        return False
    try:
        key.verify(message, signature)
    except BadSignatureError:
        return False
    return True


def signed_headers(
    key_id: str,
    private_key: Ed25519PrivateKey,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp_ms: int | None = None,
) -> dict[str, str]:
    """The three headers a client sends; what tests, benchmarks and bots call."""
    timestamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signature = private_key.sign(string_to_sign(timestamp, method, path, body))
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """The private key as issue_api_key shows it: base64 of the 32-byte seed."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text))
