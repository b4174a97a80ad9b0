"""The worker loop's round trip on Redis Cluster: each command to the master of its key's slot.

A round trip's commands touch several slots (the worker's own stream, the
streams it feeds, its traders' event streams), so they go to several
masters. They are written to every master first and the replies read
after, so a blocking read on one master does not hold up the appends on
another. Each command's key names its slot; a command without a key
(none today) goes to the master of the round trip's first key.

After a connection error, or a reply saying the slot has moved (MOVED,
ASK, TRYAGAIN, CLUSTERDOWN: a failover or a resharding), the connections
are dropped and the slot map is read again before the next round trip.
The reply is the caller's to handle, as on one server: the worker reads
its pending entries again and resends what was not acknowledged.
"""

from __future__ import annotations

from typing import Any

import hiredis
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import AskError, ClusterDownError, MovedError, RedisClusterException, TryAgainError

from exchange.pipeline.wire import Command, Wire

_SLOT_CHANGED = (MovedError, AskError, TryAgainError, ClusterDownError)


def command_key(command: Command) -> Any:
    """The key that places a command, or None; the Wire's commands name theirs at known places."""
    name = str(command[0]).upper()
    if len(command) < 2:
        return None
    if name in ("EVALSHA", "EVAL"):
        return command[3] if int(command[2]) > 0 else None
    if name in ("XREADGROUP", "XREAD"):
        return command[[str(part).upper() for part in command].index("STREAMS") + 1]
    if name == "PUBLISH":
        return None
    return command[1]


def _encoded(key: Any) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()


class ClusterWire(Wire):
    def __init__(self, client: RedisCluster) -> None:
        self._client = client
        self._connections: dict[str, tuple[Any, Any]] = {}  # node name -> (pool, connection)
        self._stale = False

    def _exchange(self, commands: list[Command]) -> list[Any]:
        if self._stale:
            self._refresh()
        by_node: dict[str, tuple[ClusterNode, list[int]]] = {}
        try:
            placed = self._placement(commands)
        except RedisClusterException as exc:  # a slot no master serves, mid-failover
            self._stale = True
            raise redis.ConnectionError(str(exc)) from exc
        for index, node in enumerate(placed):
            by_node.setdefault(node.name, (node, []))[1].append(index)
        replies: list[Any] = [None] * len(commands)
        try:
            sent = []
            for node, indexes in by_node.values():
                connection = self._connection_to(node)
                packed = b"".join([hiredis.pack_command(tuple(commands[index])) for index in indexes])
                connection.send_packed_command([packed])
                sent.append((connection, indexes))
            for connection, indexes in sent:
                for index in indexes:
                    try:
                        replies[index] = connection.read_response()
                    except redis.ResponseError as exc:
                        replies[index] = exc
        except BaseException:
            self._drop_connections()
            self._stale = True
            raise
        if any(isinstance(reply, _SLOT_CHANGED) for reply in replies):
            self._stale = True
        return replies

    def _placement(self, commands: list[Command]) -> list[ClusterNode]:
        keys = [command_key(command) for command in commands]
        first = next((key for key in keys if key is not None), None)
        nodes = []
        for key in keys:
            chosen = key if key is not None else first
            if chosen is None:
                nodes.append(self._client.get_default_node())  # type: ignore[no-untyped-call]
                continue
            nodes.append(self._client.nodes_manager.get_node_from_slot(key_slot(_encoded(chosen))))
        return nodes

    def _connection_to(self, node: ClusterNode) -> Any:
        held = self._connections.get(node.name)
        if held is None:
            assert node.redis_connection is not None
            pool = node.redis_connection.connection_pool
            held = self._connections[node.name] = (pool, pool.get_connection())
        return held[1]

    def _refresh(self) -> None:
        """Read the slot map again (a failover promoted a replica, or slots moved)."""
        self._drop_connections()
        try:
            self._client.nodes_manager.initialize()
        except RedisClusterException as exc:  # no node answered: as a connection error to the worker
            raise redis.ConnectionError(str(exc)) from exc
        self._stale = False

    def _drop_connections(self) -> None:
        for pool, connection in self._connections.values():
            connection.disconnect()
            pool.release(connection)
        self._connections.clear()

    def close(self) -> None:
        self._drop_connections()


def wire_for(client: redis.Redis) -> Wire:
    """The worker's Wire: one connection to one server, or one per master of a cluster."""
    if isinstance(client, RedisCluster):
        return ClusterWire(client)
    return Wire(client)
