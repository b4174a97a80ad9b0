"""The process's Redis client, made once from REDIS_URL."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


def key(*parts: str | int) -> str:
    """A key under this deployment's prefix: key("acct", 3) -> "spot:acct:3"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
