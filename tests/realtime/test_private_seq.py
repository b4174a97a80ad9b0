"""The private channel's seq: each user's events numbered one by one, whichever worker wrote them."""

from __future__ import annotations

import json
from typing import Any

import redis
from django.conf import settings

from exchange.pipeline.cluster_wire import wire_for
from exchange.pipeline.user_events import (
    MAX_EVENTS_PER_ENTRY,
    append_commands,
    events_stream,
    parse_announcement,
)
from exchange.realtime.user_feed import last_seq, private_frames


def append(client: redis.Redis, channel: str, count: int, maxlen: int = 1000) -> list[int]:
    events = [json.dumps({"type": "balance", "n": n}).encode() for n in range(count)]
    return [int(last) for last in wire_for(client).round_trip(append_commands(channel, events, maxlen))]


def test_appends_from_several_writers_number_a_users_events_one_by_one(redis_conn: redis.Redis) -> None:
    channel = f"{settings.REDIS_KEY_PREFIX}:user:7"
    assert append(redis_conn, channel, 3) == [3]  # one worker's batch of three events
    assert append(redis_conn, channel, 1) == [4]  # another worker's
    entries: Any = redis_conn.xrange(events_stream(channel))
    assert [fields[b"s"] for _, fields in entries] == [b"1", b"4"]
    frames = [json.loads(frame.text) for _, fields in entries for frame in private_frames(fields)]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]
    assert [f["data"]["n"] for f in frames] == [0, 1, 2, 0]
    assert last_seq(entries[-1][1]) == 4
    # Another user's numbers are their own.
    assert append(redis_conn, f"{settings.REDIS_KEY_PREFIX}:user:8", 2) == [2]


def test_a_batch_too_long_for_one_script_call_goes_in_several_entries(redis_conn: redis.Redis) -> None:
    channel = f"{settings.REDIS_KEY_PREFIX}:user:9"
    count = MAX_EVENTS_PER_ENTRY + 5
    assert append(redis_conn, channel, count) == [MAX_EVENTS_PER_ENTRY, count]
    entries: Any = redis_conn.xrange(events_stream(channel))
    seqs = [json.loads(frame.text)["seq"] for _, fields in entries for frame in private_frames(fields)]
    assert seqs == list(range(1, count + 1))


def test_frames_after_a_seq_resume_in_the_middle_of_an_entry() -> None:
    fields = {
        b"s": b"40",
        **{str(n).encode(): json.dumps({"type": "order", "n": n}).encode() for n in range(3)},
    }
    assert [json.loads(frame.text)["data"]["n"] for frame in private_frames(fields, after=40)] == [1, 2]
    assert private_frames(fields, after=42) == []


def test_an_entry_written_before_events_were_numbered_is_not_sent() -> None:
    legacy = {b"d": b'{"type":"balance","asset":"USDT"}'}
    assert private_frames(legacy) == []
    assert last_seq(legacy) == 0


def test_the_script_is_loaded_again_when_redis_has_forgotten_it(redis_conn: redis.Redis) -> None:
    channel = f"{settings.REDIS_KEY_PREFIX}:user:10"
    assert append(redis_conn, channel, 2) == [2]
    redis_conn.script_flush()  # as after a restart of Redis
    assert append(redis_conn, channel, 1) == [3]


def test_the_events_are_announced_after_they_are_in_the_stream(redis_conn: redis.Redis) -> None:
    channel = f"{settings.REDIS_KEY_PREFIX}:user:11"
    listener: Any = redis_conn.pubsub()
    listener.subscribe(channel)
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    append(redis_conn, channel, 2)
    message = listener.get_message(timeout=5)
    announced = parse_announcement(message["data"])
    assert announced is not None
    entries: Any = redis_conn.xrange(events_stream(channel))
    [(entry_id, fields)] = entries
    assert (announced.entry_id, announced.first_seq) == (entry_id.decode(), int(fields[b"s"]))
    assert [json.loads(event)["n"] for event in announced.events] == [0, 1]
    listener.close()


def test_an_events_type_is_read_wherever_it_stands_and_a_broken_event_is_skipped() -> None:
    fields = {
        b"s": b"5",
        b"0": b'{"type":"fill","order_id":"1"}',
        b"1": b'{"order_id":"2","type":"order"}',
        b"2": b'{"type": "balance" , "asset":"BTC"}',
        b"3": b"not json",
    }
    frames = [json.loads(frame.text) for frame in private_frames(fields)]
    assert [(f["type"], f["seq"], f["channel"]) for f in frames] == [
        ("fill", 5, "private"),
        ("order", 6, "private"),
        ("balance", 7, "private"),
    ]
