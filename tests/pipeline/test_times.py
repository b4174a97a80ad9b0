"""Times: every command carries the time it was accepted, and every row and event it causes takes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from exchange.models import Order, Trade
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.messages import encode
from exchange.pipeline.workers import MatchingWorker
from tests.pipeline.conftest import user_feed

LATER_MS = 60_000


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def created_ms(order_id: int) -> int:
    return round(Order.objects.get(pk=order_id).created_at.timestamp() * 1000)


def send_later(pipeline, message: dict[str, Any], ms: int) -> None:
    """A command accepted at a chosen time, later than anything before it: its stream entry's id."""
    pipeline.redis.xadd(accounts_keys(0).stream, encode(message), id=f"{ms}-0")


def restart_matching(pipeline) -> None:
    index = next(n for n, worker in enumerate(pipeline.workers) if worker.name == "matching-1")
    pipeline.workers[index].shutdown()
    restarted = MatchingWorker(1, pipeline.redis)
    assert restarted.become_leader()
    pipeline.workers[index] = restarted


def funded(pipeline, alice, bob) -> None:
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()


def test_a_cancel_is_stamped_with_its_own_time_not_the_last_places(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="90", quantity="0.1")
    pipeline.run()
    placed_ms = created_ms(buy)
    send_later(pipeline, {"t": "cancel", "uid": alice.pk, "oid": buy}, placed_ms + LATER_MS)
    pipeline.run()

    order = Order.objects.get(pk=buy)
    assert order.status == "CANCELED"
    assert order.created_at == at(placed_ms)
    assert order.updated_at == at(placed_ms + LATER_MS)


def test_a_cancel_after_a_matching_restart_has_a_real_time(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="90", quantity="0.1")
    pipeline.run()
    restart_matching(pipeline)
    placed_ms = created_ms(buy)
    send_later(pipeline, {"t": "cancel", "uid": alice.pk, "oid": buy}, placed_ms + LATER_MS)
    pipeline.run()

    assert Order.objects.get(pk=buy).updated_at == at(placed_ms + LATER_MS)
    [update] = [u for u in user_feed(pipeline.redis, alice) if u.get("status") == "CANCELED"]
    assert update["ts"] == placed_ms + LATER_MS


def test_cancel_all_and_amend_carry_their_times(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    amended = pipeline.place(alice, "BTC/USDT", "BUY", price="90", quantity="0.1")
    other = pipeline.place(alice, "BTC/USDT", "BUY", price="80", quantity="0.1")
    pipeline.run()
    restart_matching(pipeline)
    base = created_ms(other)
    send_later(pipeline, {"t": "amend", "uid": alice.pk, "oid": amended, "px": "91"}, base + LATER_MS)
    send_later(pipeline, {"t": "cancel_all", "uid": alice.pk, "m": "BTC/USDT"}, base + 2 * LATER_MS)
    pipeline.run()

    forwarded = [
        command
        for _, fields in pipeline.redis.xrange(matching_keys(1).stream)
        for _, commands in json.loads(fields[b"d"])["g"]
        for command in commands
    ]
    assert all(isinstance(command["ts"], int) for command in forwarded)
    assert [c["ts"] for c in forwarded if c["t"] in ("amend", "cancel_all")] == [
        base + LATER_MS,
        base + 2 * LATER_MS,
    ]
    assert Order.objects.get(pk=other).updated_at == at(base + 2 * LATER_MS)
    assert Order.objects.get(pk=amended).updated_at == at(base + 2 * LATER_MS)


def test_every_private_event_and_public_trade_carries_its_time(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    pipeline.place(bob, "BTC/USDT", "SELL", price="100", quantity="0.5")
    pipeline.run()
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.2")
    pipeline.run()
    trade = Trade.objects.get()
    trade_ms = int(trade.executed_at.timestamp() * 1000)

    for user in (alice, bob):
        events = user_feed(pipeline.redis, user)
        assert {event["type"] for event in events} >= {"order", "fill", "balance"}
        assert all(type(event["ts"]) is int and event["ts"] > 0 for event in events), events
        assert [event["ts"] for event in events if event["type"] == "fill"] == [trade_ms]
    assert [e["ts"] for e in user_feed(pipeline.redis, alice) if e.get("order_id") == str(buy)] == [
        trade_ms
    ] * 3
    public = [
        json.loads(value)
        for _, fields in pipeline.redis.xrange(matching_keys(1).events)
        for value in fields.values()
    ]
    assert [event["ts"] for event in public if event["type"] == "trade"] == [trade_ms]
