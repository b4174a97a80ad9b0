"""Making API keys: an Ed25519 pair of which only the public half is kept, or an HMAC secret."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.contrib.auth.models import User

from exchange.models import ApiKey
from exchange.services import api_secrets


class InvalidPublicKey(ValueError):
    """The text given is not a base64 raw Ed25519 public key."""


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    # Base64 of the 32-byte private seed; None when the trader brought their own key.
    private_key: str | None
    # An HMAC key's secret, shown once; None for an Ed25519 key.
    secret: str | None = None


def issue_api_key(
    user: User,
    label: str = "",
    can_read: bool = True,
    can_trade: bool = False,
    public_key: str | None = None,
) -> IssuedKey:
    private_text: str | None = None
    if public_key:
        public_text = normalize_public_key(public_key)
    else:
        private = Ed25519PrivateKey.generate()
        private_text = base64.b64encode(
            private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        ).decode()
        public_text = _b64_public(private.public_key())
    api_key = ApiKey.objects.create(
        key_id=new_key_id(),
        user=user,
        label=label,
        public_key=public_text,
        can_read=can_read,
        can_trade=can_trade,
    )
    return IssuedKey(api_key, private_text)


def issue_hmac_key(user: User, label: str = "", can_read: bool = True, can_trade: bool = False) -> IssuedKey:
    """A key whose secret signs HMAC-SHA256 requests on the Binance-compatible API (/api/v3)."""
    secret = api_secrets.new_secret()
    api_key = ApiKey.objects.create(
        key_id=new_key_id(),
        user=user,
        label=label,
        kind=ApiKey.HMAC,
        encrypted_secret=api_secrets.encrypt(secret),
        can_read=can_read,
        can_trade=can_trade,
    )
    return IssuedKey(api_key, None, secret)


def private_key_pem(private_text: str) -> str:
    """The private key as issued (base64 seed) in PKCS#8 PEM, the form Binance's clients read."""
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_text))
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def new_key_id() -> str:
    return "sk_" + secrets.token_urlsafe(18)


def normalize_public_key(text: str) -> str:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPublicKey("expected a base64 raw Ed25519 public key (32 bytes)") from exc
    return _b64_public(key)


def load_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def _b64_public(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
