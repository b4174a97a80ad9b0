from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.models import LedgerEntry, Order, Trade
from tests.pipeline.checks import balance
from tests.pipeline.conftest import user_feed


def test_a_limit_order_holds_funds_matches_settles_and_is_persisted(pipeline, alice, bob, fee_account):
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.run()
    assert balance(bob, "BTC") == (Decimal("0.5"), Decimal("0.5"))
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="0.2")
    pipeline.run()

    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.taker_side) == (Decimal("100"), Decimal("0.2"), "BUY")
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert Order.objects.get(pk=sell).status == "PARTIALLY_FILLED"
    # 0.2 BTC at 100 = 20 USDT, 0.1 % fee each side
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("20") - Decimal("0.02"), Decimal(0))
    assert balance(alice, "BTC") == (Decimal("0.2"), Decimal(0))
    assert balance(bob, "USDT") == (Decimal("20") - Decimal("0.02"), Decimal(0))
    assert balance(bob, "BTC") == (Decimal("0.5"), Decimal("0.3"))
    assert balance(fee_account, "USDT") == (Decimal("0.04"), Decimal(0))
    # Base and quote for each side, the fee folded into the quote entry; the fee account's credit.
    entries = LedgerEntry.objects.filter(trade_id=trade.id)
    assert sorted(entry.kind for entry in entries) == ["FEE", "TRADE", "TRADE", "TRADE", "TRADE"]
    assert sorted(entry.fee for entry in entries if entry.kind == "TRADE") == [
        0,
        0,
        Decimal("0.02"),
        Decimal("0.02"),
    ]


@pytest.mark.cluster
def test_traders_and_market_data_get_their_updates(pipeline, alice, bob, redis_conn, settings):
    import json

    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.run()
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.2")
    pipeline.run()

    feed = user_feed(redis_conn, alice)
    mine = [update for update in feed if update.get("order_id") == str(buy)]
    # Accepted, then filled: one update per command in its final state, not PARTIALLY_FILLED on the way.
    assert [u["status"] for u in mine if u["type"] == "order"] == ["NEW", "FILLED"]
    sells = [u for u in user_feed(redis_conn, bob) if u.get("type") == "order" and u["order_id"] != str(buy)]
    assert [(u["status"], Decimal(u["executed_quantity"])) for u in sells] == [
        ("NEW", 0),
        ("PARTIALLY_FILLED", Decimal("0.2")),
    ]
    [fill] = [u for u in mine if u["type"] == "fill"]
    assert [Decimal(fill[k]) for k in ("price", "quantity", "fee")] == [
        Decimal("100"),
        Decimal("0.2"),
        Decimal("0.02"),
    ]
    assert fill["role"] == "taker"
    assert any(u["type"] == "balance" and u["asset"] == "BTC" for u in feed)

    entries = redis_conn.xrange(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:events")
    events = [json.loads(value) for _, fields in entries for value in fields.values()]
    trades = [e for e in events if e["type"] == "trade"]
    assert [(Decimal(t["price"]), Decimal(t["quantity"]), t["taker_side"]) for t in trades] == [
        (Decimal("100"), Decimal("0.2"), "BUY")
    ]
    updates = [e for e in events if e["type"] == "depth_update"]
    assert [u["seq"] for u in updates] == list(range(updates[0]["seq"], updates[0]["seq"] + len(updates)))
    assert [[Decimal(p), Decimal(q)] for p, q in updates[-1]["asks"]] == [[Decimal("100"), Decimal("0.3")]]
    snapshot = json.loads(redis_conn.get(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:depth:BTC/USDT"))
    assert snapshot["seq"] == updates[-1]["seq"]
    assert [[Decimal(p), Decimal(q)] for p, q in snapshot["asks"]] == [[Decimal("100"), Decimal("0.3")]]


def test_an_orders_updates_read_the_same_before_and_after_a_matching_worker_restarts(pipeline, alice, bob):
    from exchange.pipeline.workers import MatchingWorker

    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100", quantity="0.5")
    pipeline.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.2")
    pipeline.run()
    index = next(n for n, worker in enumerate(pipeline.workers) if worker.name == "matching-1")
    pipeline.workers[index].shutdown()
    restarted = MatchingWorker(1, pipeline.redis)
    assert restarted.become_leader()  # loads the book and the open sell from the database
    pipeline.workers[index] = restarted
    pipeline.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.1")
    pipeline.run()

    updates = [
        u for u in user_feed(pipeline.redis, bob) if u.get("type") == "order" and u["order_id"] == str(sell)
    ]
    texts = [
        (u["status"], u["price"], u["quantity"], u["executed_quantity"], u["executed_quote"]) for u in updates
    ]
    assert texts == [
        ("NEW", "100.00", "0.50000", "0", "0"),
        ("PARTIALLY_FILLED", "100.00", "0.50000", "0.20000", "20.0000000"),
        ("PARTIALLY_FILLED", "100.00", "0.50000", "0.30000", "30.0000000"),  # after the restart
    ]
