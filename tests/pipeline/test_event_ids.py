"""Ids in what traders receive: strings, since order and trade ids pass 2^53 (a JavaScript number's limit)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings

from tests.pipeline.conftest import user_feed

ID_FIELDS = ("order_id", "trade_id")


def ids_in(events: list[dict[str, Any]]) -> list[Any]:
    return [event[name] for event in events for name in ID_FIELDS if name in event]


def test_every_order_and_trade_id_in_private_and_market_events_is_a_string(
    pipeline: Any, alice: Any, bob: Any, redis_conn: Any
) -> None:
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.run()
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.2")
    pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="100")  # REJECTED: no funds
    pipeline.entry.cancel(alice.pk, 12345)  # cancel_rejected: no such order
    pipeline.entry.amend(bob.pk, sell, None, Decimal("100.001"))  # amend_rejected: off tick
    pipeline.run()

    private = user_feed(redis_conn, alice) + user_feed(redis_conn, bob)
    kinds = {event["type"] for event in private if any(name in event for name in ID_FIELDS)}
    assert kinds == {"order", "fill", "cancel_rejected", "amend_rejected"}
    entries = redis_conn.xrange(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:events")
    trades = [
        event
        for _, fields in entries
        for value in fields.values()
        if (event := json.loads(value))["type"] == "trade"
    ]
    assert len(trades) == 1
    ids = ids_in(private) + ids_in(trades)
    assert ids and all(isinstance(value, str) and value.isdigit() for value in ids), ids
    assert buy > 2**53 and str(buy) in ids and str(sell) in ids
    assert {fill["trade_id"] for fill in private if fill["type"] == "fill"} == {trades[0]["trade_id"]}


def test_a_markets_trade_ids_grow_by_one_the_trades_channels_gap_signal(
    pipeline: Any, alice: Any, bob: Any, redis_conn: Any
) -> None:
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    for price in ("100.00", "101.00", "102.00"):
        pipeline.place(bob, "BTC/USDT", "SELL", price=price, quantity="0.1")
    pipeline.run()
    pipeline.place(alice, "BTC/USDT", "BUY", price="102.00", quantity="0.25")  # three trades at once
    pipeline.run()
    pipeline.place(alice, "BTC/USDT", "BUY", price="102.00", quantity="0.05")  # one more, later
    pipeline.run()

    entries = redis_conn.xrange(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:events")
    ids = [
        int(event["trade_id"])
        for _, fields in entries
        for value in fields.values()
        if (event := json.loads(value))["type"] == "trade"
    ]
    assert len(ids) == 4 and ids == list(range(ids[0], ids[0] + 4))
