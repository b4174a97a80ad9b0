"""The API's Redis connections: one per thread, held for the thread's life.

A pooled client checks a connection out and back in for every command, and
the checkout polls the socket (a syscall) to make sure no stale reply waits
on it. Order entry makes two Redis calls per order, so a held connection per
server thread saves measurable CPU (benchmarks/api/README.md). Pub/sub waits
still take their own connection from the pool. On Redis Cluster each thread
holds a cluster client, with a pool per node.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

from exchange.api.claims_watch import ClaimsWatch
from spot.redis_connection import connect

_local = threading.local()


def api_redis() -> redis.Redis:
    url = settings.REDIS_URL
    client: redis.Redis | None = getattr(_local, "client", None)
    if client is None or getattr(_local, "url", None) != url:
        client = connect(
            url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
            single_connection_client=True,
        )
        _local.client, _local.url = client, url
        _local.claims_watch = ClaimsWatch(client)
    return client


def claims_watch() -> ClaimsWatch:
    """Whether the thread's Redis may have lost client order id claims (exchange.api.claims_watch)."""
    api_redis()
    watch: ClaimsWatch = _local.claims_watch
    return watch
