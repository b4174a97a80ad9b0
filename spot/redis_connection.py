"""The process's Redis clients, made from REDIS_URL: one server, or a Redis Cluster.

`redis+cluster://host:port` (any node of the cluster) selects Redis Cluster:
the clients are redis-py's cluster clients, which route each command to the
master of its key's slot and refresh their slot map on MOVED and on a
connection error (a failover). Every key the pipeline touches in one script
or transaction carries one hash tag (exchange/pipeline/keys.py), so each
such call stays in one slot; docs/adr/0011-redis-cluster.md has the layout.

The cluster clients are typed as `redis.Redis`: they offer the same
commands, and the two places that need more than a command (the worker's
Wire and WAIT after an append) ask `is_cluster` first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

CLUSTER_SCHEME = "redis+cluster"


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme == CLUSTER_SCHEME


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster | AsyncRedisCluster)


def connect(url: str, **options: Any) -> redis.Redis:
    """A client for `url`; `single_connection_client` is dropped for a cluster (it has a pool per node)."""
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    options.pop("single_connection_client", None)
    # A `retry` applies to the whole cluster call, which refreshes the slot map between attempts.
    return cast(redis.Redis, RedisCluster.from_url(_node_url(url), **options))


def connect_async(url: str, **options: Any) -> aioredis.Redis:
    if not is_cluster_url(url):
        return aioredis.Redis.from_url(url, **options)
    return cast(aioredis.Redis, AsyncRedisCluster.from_url(_node_url(url), **options))


def _node_url(url: str) -> str:
    """The URL of the node named, as redis-py's cluster client takes it (database 0, the only one)."""
    parts = urlsplit(url)
    return parts._replace(scheme="redis", path="").geturl()


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return connect(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


@lru_cache(maxsize=1)
def worker_redis_client() -> redis.Redis:
    """A pipeline worker's client: it sees every failure, and redis-py retries nothing behind its back.

    A read retried by the client after its reply was lost would leave the
    first delivery pending and unseen; the worker retries itself and reads
    its pending entries again (exchange/pipeline/worker.py).
    """
    return connect(
        settings.REDIS_URL,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )


def key(*parts: str | int) -> str:
    """A key under this deployment's prefix: key("acct", 3) -> "spot:acct:3"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
