"""API keys as the API sees them: cached per process, revocation pushed through Redis.

A DB read per request would cost more than the rest of order entry, so each
process keeps what it read for API_KEY_CACHE_MS. Revocation must not wait for
that: revoking (or deleting) a key, or deactivating its user, sets a marker
in Redis that the per-request gate script checks (exchange.api.ratelimit),
so every API process refuses the key from its next request on. The cache
lifetime only bounds how long a change made without signals (raw SQL, a
lost Redis) takes to be seen.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.db.models.signals import post_delete, post_save
from nacl.signing import VerifyKey

from exchange.api.errors import Unavailable
from exchange.api.signing import verifier
from exchange.models import ApiKey
from exchange.services.api_keys import load_public_key
from exchange.services.api_secrets import UnreadableSecret, decrypt
from spot.redis_connection import redis_client

logger = logging.getLogger(__name__)

# Unknown key ids are remembered briefly too, so guessing ids cannot load the database.
_UNKNOWN_TTL_S = 1.0
_MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    user_id: int
    public_key: VerifyKey | None  # None for an HMAC key
    scopes: frozenset[str]
    active: bool
    hmac_secret: bytes | None = None  # an HMAC key's secret, decrypted


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, KeyRecord | None]] = {}

    def get(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        hit = self._entries.get(key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            record = _load(key_id)
        except DatabaseError as exc:
            if hit is None:
                raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
            # What was read last still holds; revocations still arrive through Redis.
            logger.warning("API key %s not reloaded: %s", key_id, exc)
            record = hit[1]
        ttl = settings.API_KEY_CACHE_MS / 1000 if record is not None else _UNKNOWN_TTL_S
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key_id] = (now + ttl, record)
        return record

    def forget(self, key_id: str) -> None:
        self._entries.pop(key_id, None)

    def clear(self) -> None:
        self._entries.clear()


key_cache = KeyCache()


def revoked_marker(key_id: str) -> str:
    # The hash tag puts the marker in the slot of the key's rate-limit bucket,
    # so one script can read both on Redis Cluster.
    return f"{settings.REDIS_KEY_PREFIX}:{{k:{key_id}}}:revoked"


def _load(key_id: str) -> KeyRecord | None:
    row = (
        ApiKey.objects.filter(key_id=key_id)
        .values_list(
            "user_id",
            "kind",
            "public_key",
            "encrypted_secret",
            "can_read",
            "can_trade",
            "revoked_at",
            "user__is_active",
        )
        .first()
    )
    if row is None:
        return None
    user_id, kind, public_text, encrypted_secret, can_read, can_trade, revoked_at, user_active = row
    public_key: VerifyKey | None = None
    hmac_secret: bytes | None = None
    try:
        if kind == ApiKey.HMAC:
            hmac_secret = decrypt(encrypted_secret).encode()
        else:
            public_key = verifier(load_public_key(public_text))
    except (ValueError, UnreadableSecret):
        logger.warning("API key %s has an unusable %s key", key_id, kind)
        return None
    scopes = frozenset(name for name, on in (("read", can_read), ("trade", can_trade)) if on)
    return KeyRecord(key_id, user_id, public_key, scopes, revoked_at is None and user_active, hmac_secret)


def mark_revoked(key_ids: list[str]) -> None:
    for key_id in key_ids:
        key_cache.forget(key_id)
    if not key_ids:
        return
    try:
        client = redis_client()
        for key_id in key_ids:
            client.set(revoked_marker(key_id), "1")
    except redis.RedisError:
        # The cache lifetime still bounds how long the key keeps working.
        logger.exception("could not publish the revocation of API keys %s", key_ids)


def _key_saved(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    if instance.revoked_at is not None:
        mark_revoked([instance.key_id])
    else:
        key_cache.forget(instance.key_id)


def _key_deleted(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    mark_revoked([instance.key_id])


def _user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        mark_revoked(list(ApiKey.objects.filter(user_id=instance.pk).values_list("key_id", flat=True)))


def connect_signals() -> None:
    """Idempotent; called where the API's URLs load and from the app's ready()."""
    post_save.connect(_key_saved, sender=ApiKey, dispatch_uid="api-key-saved")
    post_delete.connect(_key_deleted, sender=ApiKey, dispatch_uid="api-key-deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="api-user-saved")
