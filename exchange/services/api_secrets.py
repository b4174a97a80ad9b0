"""HMAC key secrets at rest: Fernet-encrypted with a key of the operator's.

The Fernet key comes from API_SECRETS_KEY (or API_SECRETS_KEY_FILE): the
urlsafe base64 of 32 random bytes, e.g.
``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``.
When it is not set, one is derived from SECRET_KEY (HKDF-SHA256), so a
development setup works out of the box; a system check warns when DEBUG is
off, since rotating SECRET_KEY would then make every stored secret unreadable.
"""

from __future__ import annotations

import base64
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(ValueError):
    """A stored secret that the configured key cannot decrypt (the key was changed)."""


@cache
def _fernet(configured: str, secret_key: str) -> Fernet:
    if configured:
        return Fernet(configured.strip().encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"spot api secrets").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def fernet() -> Fernet:
    return _fernet(settings.API_SECRETS_KEY, settings.SECRET_KEY)


def new_secret() -> str:
    """64 characters, as Binance's secrets have: what the trader's client signs with."""
    return secrets.token_urlsafe(48)


def encrypt(secret: str) -> str:
    return fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("the stored secret does not decrypt with API_SECRETS_KEY") from exc
