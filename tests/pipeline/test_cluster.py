"""On Redis Cluster: where the shards' keys land, durability per master, and a failover under the workers.

Every test here runs on the session's local cluster (spot/local_cluster.py);
the wider flows run on it through `@pytest.mark.cluster` elsewhere.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import redis
from redis.crc import key_slot

from exchange.models import Order, Trade
from exchange.pipeline.cluster_wire import ClusterWire
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.order_entry import NotDurable, OrderEntry, PlaceRequest
from exchange.pipeline.user_events import events_stream, seq_counter
from exchange.pipeline.wire import read_entries, xadd, xreadgroup
from spot.local_cluster import LocalCluster
from spot.redis_connection import is_cluster

on_cluster = pytest.mark.parametrize("redis_backend", ["cluster"], indirect=True)


def slot(key: str) -> int:
    return key_slot(key.encode())


def test_every_key_a_script_or_transaction_touches_with_another_shares_its_slot():
    for keys in [accounts_keys(shard, "spot") for shard in range(16)] + [
        matching_keys(shard, "spot") for shard in range(1, 17)
    ]:
        together = [keys.stream, keys.dead_letters, keys.lease, keys.epoch, keys.standbys, keys.frozen]
        together += [keys.client_order_id(42, "cid-1"), keys.funds_request("r-1")]
        assert len({slot(key) for key in together}) == 1, keys.tag
    for user_id in range(1, 200):
        stream = events_stream(f"spot:user:{user_id}")
        assert slot(stream) == slot(seq_counter(stream))
    for tag in ("k:17", "u:3", "ip:10.0.0.1"):  # the rate limit's bucket, revocation and replay marker
        base = f"spot:{{{tag}}}"
        assert len({slot(f"{base}:bucket"), slot(f"{base}:revoked"), slot(f"{base}:sig:ab12")}) == 1


@on_cluster
def test_the_default_shards_streams_spread_over_all_three_masters(redis_cluster: LocalCluster):
    streams = [accounts_keys(0, "spot").stream] + [
        matching_keys(shard, "spot").stream for shard in (1, 2, 3, 4)
    ]
    masters = {stream: redis_cluster.master_of(stream) for stream in streams}
    assert len(set(masters.values())) == 3, masters


@on_cluster
def test_replica_durability_waits_on_the_master_of_the_orders_stream(pipeline, alice, settings):
    settings.STREAM_DURABILITY = "REPLICA"
    settings.STREAM_DURABILITY_TIMEOUT_MS = 2000
    pipeline.deposit(alice, "USDT", "1000")
    order_id = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    pipeline.run()
    assert Order.objects.get(pk=order_id).status == "NEW"


def test_replica_durability_refuses_to_acknowledge_what_no_replica_confirmed(redis_conn, alice, settings):
    if is_cluster(redis_conn):
        pytest.skip("the cluster's masters have replicas")
    settings.STREAM_DURABILITY = "REPLICA"
    settings.STREAM_DURABILITY_TIMEOUT_MS = 1
    request = PlaceRequest(
        user_id=alice.pk, client_order_id="c-1", symbol="BTC/USDT", side="BUY", type="LIMIT",
        time_in_force="GTC", price=Decimal("100"), quantity=Decimal("1"),
    )  # fmt: skip
    with pytest.raises(NotDurable):
        OrderEntry(redis_conn).place(request)  # the test's Redis server has no replica


@on_cluster
def test_the_workers_and_order_entry_carry_on_after_a_failover(
    pipeline, redis_cluster, alice, bob, fee_account
):
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.run()

    # The replica of the master that holds the accounts stream takes over; the old master steps down.
    old = redis_cluster.master_of(accounts_keys(0).stream)
    replica = redis_cluster.replica_of(old)
    redis_cluster.node(replica).execute_command("CLUSTER FAILOVER")
    deadline = time.monotonic() + 30
    while redis_cluster.master_of(accounts_keys(0).stream) != replica and time.monotonic() < deadline:
        time.sleep(0.1)
    assert redis_cluster.master_of(accounts_keys(0).stream) == replica
    redis_cluster.wait_healthy()

    # Order entry meets MOVED and asks the new master; each worker's first round trip
    # meets it too, rereads the slot map and retries.
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.2")
    pipeline.run()
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert Trade.objects.get().quantity == Decimal("0.2")


@on_cluster
def test_the_cluster_wire_sends_each_command_to_its_master_and_answers_in_order(redis_conn, redis_cluster):
    streams = [accounts_keys(0).stream, matching_keys(1).stream, matching_keys(2).stream]
    assert len({redis_cluster.master_of(stream) for stream in streams}) == 3
    redis_conn.xgroup_create(streams[0], "workers", id="0", mkstream=True)
    wire = ClusterWire(redis_conn)
    replies = wire.round_trip(
        [
            xadd(streams[1], {"d": b"to m1"}),
            ("INCR", f"{streams[2]}-not-a-number-key"),
            ("SET", f"{streams[2]}-not-a-number-key", "text"),
            ("INCR", f"{streams[2]}-not-a-number-key"),  # an error reply, in its place
            xadd(streams[0], {"d": b"to a0"}),
            ("PING",),
            xreadgroup("workers", "me", streams[0], ">", 10, 5),
        ]
    )
    assert replies[1] == 1 and replies[2] in (True, b"OK")
    assert isinstance(replies[3], redis.ResponseError)
    assert replies[5] in (True, b"PONG")
    assert [fields for _, fields in read_entries(replies[6])] == [{b"d": b"to a0"}]
    assert redis_conn.xlen(streams[1]) == 1
    wire.close()


@on_cluster
def test_the_cluster_wire_connects_afresh_after_a_broken_connection(redis_conn):
    wire = ClusterWire(redis_conn)
    key = accounts_keys(0).stream + "-probe"
    assert wire.round_trip([("SET", key, "1")]) in ([True], [b"OK"])
    for _, connection in wire._connections.values():
        connection._sock.close()  # the sockets die under the wire
    with pytest.raises((redis.ConnectionError, OSError)):
        wire.round_trip([("GET", key)])
    assert wire.round_trip([("GET", key)]) == [b"1"]  # the slot map read again, a new connection
    wire.close()
