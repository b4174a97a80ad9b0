"""The process's Redis client, made once from REDIS_URL."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


@lru_cache(maxsize=1)
def worker_redis_client() -> redis.Redis:
    """A pipeline worker's client: it sees every failure, and redis-py retries nothing behind its back.

    A read retried by the client after its reply was lost would leave the
    first delivery pending and unseen; the worker retries itself and reads
    its pending entries again (exchange/pipeline/worker.py).
    """
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )


def key(*parts: str | int) -> str:
    """A key under this deployment's prefix: key("acct", 3) -> "spot:acct:3"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
