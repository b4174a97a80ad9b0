"""Committed entries are acknowledged with the worker's next round trip, not one of their own."""

from __future__ import annotations

from typing import Any

import redis

from exchange.pipeline.keys import CONSUMER_GROUP
from exchange.services.shards import shard_statuses
from tests.pipeline.conftest import Pipeline


def pending(client: redis.Redis, stream: str) -> list[bytes]:
    entries: Any = client.xpending_range(stream, CONSUMER_GROUP, "-", "+", 100)
    return [entry["message_id"] for entry in entries]


def test_a_commit_is_acknowledged_by_the_next_round_trip_and_never_counts_as_unprocessed(
    pipeline: Pipeline, redis_conn: redis.Redis, alice: Any
) -> None:
    accounts = pipeline.workers[0]
    assert accounts.buffer is not None
    accounts.buffer.max_delay_s = 3600  # committed only when the run ends, however slow the machine
    stream = accounts.keys.stream
    pipeline.deposit(alice, "USDT", "10")
    pipeline.run()  # read, applied and committed: the commit sent no acknowledgement of its own

    committed = pending(redis_conn, stream)
    assert len(committed) == 1
    [status] = [s for s in shard_statuses(redis_conn) if s.name == "accounts-0"]
    assert status.unprocessed == 0 and status.last_entry_id == committed[0].decode()

    accounts.step()  # the next round trip, whatever it reads
    assert pending(redis_conn, stream) == []


def test_a_stopping_worker_acknowledges_what_it_committed(
    pipeline: Pipeline, redis_conn: redis.Redis, alice: Any
) -> None:
    accounts = pipeline.workers[0]
    pipeline.deposit(alice, "USDT", "10")
    for _ in range(3):
        accounts.step()  # read and applied; not committed yet
    accounts.shutdown()
    assert pending(redis_conn, accounts.keys.stream) == []
