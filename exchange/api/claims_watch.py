"""Whether Redis may have lost client order id claims: the window after it (re)started.

With `STREAM_DURABILITY=NONE` a Redis that crashes loses up to its last
second of writes, and with them claims whose orders the workers may already
have persisted; a server that takes over from another (a replica promoted)
may lack the last writes too. A retry of such an order finds no claim, so
the API looks the client order id up in the database before placing
(`API_CLIENT_ID_DB_CHECK`). A claim can only have been lost by a server that
began serving within the last window (`CLIENT_ORDER_ID_WINDOW_S`): an older
claim has expired anyway. So the lookup is made only then (ADR 0016).

Each API thread holds one connection (exchange.api.redis_clients). Whenever
it connects, the thread asks the server for its run id and its uptime and
reads the marker that the API keeps in Redis: the run id of the server that
serves the claims and since when. The same run id: nothing changed, the
marker's time stands. Another run id (a restart, or a takeover): the marker
is set to now. No marker (a new Redis, or a new key prefix): the server's
start. Every reconnect asks again before the next decision, so a retry that
reaches a restarted server is checked; Redis Cluster keeps the lookup on
always (its nodes fail over one by one).
"""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings

from exchange.pipeline.scripts import registered
from spot.redis_connection import is_cluster

# KEYS[1] the marker; ARGV: this server's run id, its start (ms), now (ms). Returns since (ms).
_MARK = """
local known = redis.call('HGET', KEYS[1], 'run_id')
if known == ARGV[1] then
    return tonumber(redis.call('HGET', KEYS[1], 'since_ms'))
end
local since = ARGV[2]
if known then since = ARGV[3] end
redis.call('HSET', KEYS[1], 'run_id', ARGV[1], 'since_ms', since)
return tonumber(since)
"""


def marker_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:claims-server"


class ClaimsWatch:
    """One thread's view of its Redis connection: asked again after every (re)connect."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._cluster = is_cluster(client)
        self._asked = False
        self._serving_since_ms = 0
        connection = getattr(client, "connection", None)
        if connection is not None:
            connection.register_connect_callback(self._connected)

    def _connected(self, connection: Any) -> None:
        self._asked = False

    def forget(self) -> None:
        """Ask the server again before the next decision, as after a reconnect."""
        self._asked = False

    def reconnected_since_asked(self) -> bool:
        return not self._asked

    def will_connect(self) -> bool:
        """Whether the next command connects anew (the connection was closed after an error, or never opened).

        A caller that decides before its command whether claims may be lost
        runs a command first then (exchange.api.placing), so the decision is
        taken on the connection the order goes on.
        """
        connection = getattr(self._client, "connection", None)
        return connection is None or not connection.is_connected

    def may_have_lost_claims(self) -> bool:
        """True while the server may lack claims made within the window (RedisError if unreachable)."""
        if self._cluster:
            return True
        if not self._asked:
            self._serving_since_ms = serving_since_ms(self._client)
            self._asked = True
        window_ms = settings.CLIENT_ORDER_ID_WINDOW_S * 1000
        return time.time() * 1000 < self._serving_since_ms + window_ms


def serving_since_ms(client: redis.Redis) -> int:
    """Since when the server the client reaches has served the claims, by the marker (module docstring)."""
    info = client.info("server")
    now_ms = int(time.time() * 1000)
    started_ms = now_ms - int(info["uptime_in_seconds"]) * 1000
    return int(registered(client, _MARK)(keys=[marker_key()], args=[str(info["run_id"]), started_ms, now_ms]))
