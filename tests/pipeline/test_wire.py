"""The worker loop's connection: one write, every reply read in order, errors returned in place."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from exchange.pipeline.cluster_wire import wire_for
from exchange.pipeline.wire import Wire, read_entries, xadd, xreadgroup
from spot.redis_connection import is_cluster


def test_replies_come_back_in_order_and_an_error_reply_keeps_the_connection_in_step(redis_conn) -> None:
    wire = wire_for(redis_conn)
    key = f"{settings.REDIS_KEY_PREFIX}:wire"
    stream = f"{key}:stream"
    replies = wire.round_trip(
        [("SET", key, "text"), ("INCR", key), xadd(stream, {"0": b"a", "1": "b"}, maxlen=1000), ("GET", key)]
    )
    assert replies[0] is True or replies[0] == b"OK"
    assert isinstance(replies[1], redis.ResponseError)  # not an integer: the reply is the error
    assert replies[2].startswith(b"17") or b"-" in replies[2]
    assert replies[3] == b"text"
    assert wire.round_trip([("GET", key)]) == [b"text"]  # the next trip reads its own reply
    wire.close()


def test_a_group_read_returns_entries_with_their_fields_and_pending_ones_again(redis_conn) -> None:
    wire = wire_for(redis_conn)
    stream = f"{settings.REDIS_KEY_PREFIX}:wire:in"
    redis_conn.xgroup_create(stream, "workers", id="0", mkstream=True)
    first = redis_conn.xadd(stream, {"d": b"one"})
    redis_conn.xadd(stream, {"d": b"two", "x": b"y"})
    (reply,) = wire.round_trip([xreadgroup("workers", "me", stream, ">", 10, 5)])
    assert [fields for _, fields in read_entries(reply)] == [{b"d": b"one"}, {b"d": b"two", b"x": b"y"}]
    (empty,) = wire.round_trip([xreadgroup("workers", "me", stream, ">", 10, 1)])
    assert read_entries(empty) == []  # the block timed out
    # Delivered but never acked: readable again after a given id, from this consumer's pending list.
    (pending,) = wire.round_trip([xreadgroup("workers", "me", stream, first.decode(), 10, None)])
    assert [fields for _, fields in read_entries(pending)] == [{b"d": b"two", b"x": b"y"}]
    wire.close()


def test_after_a_broken_connection_the_next_trip_connects_afresh(redis_conn) -> None:
    if is_cluster(redis_conn):
        pytest.skip("one server's Wire; the cluster's: tests/pipeline/test_cluster.py")
    wire = Wire(redis_conn)
    assert wire.round_trip([("PING",)]) in ([b"PONG"], [True])
    assert wire._connection is not None
    wire._connection._sock.close()  # the socket dies under the wire
    with pytest.raises((redis.ConnectionError, OSError)):
        wire.round_trip([("PING",)])
    assert wire.round_trip([("PING",)]) in ([b"PONG"], [True])
    wire.close()
