"""Stop, good-till-date and iceberg orders through the pipeline: holds, book, rows and updates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchange.models import Order
from exchange.pipeline.workers import MatchingWorker
from tests.pipeline.checks import balance, funded_and_checked
from tests.pipeline.conftest import user_feed


@pytest.fixture
def funded(pipeline, alice, bob):
    yield from funded_and_checked(pipeline, [(alice, "USDT", "10000"), (bob, "BTC", "2")])


def trade_at(line: Any, alice: Any, bob: Any, price: str) -> None:
    line.place(bob, "BTC/USDT", "SELL", price=price, quantity="0.1")
    line.place(alice, "BTC/USDT", "BUY", price=price, quantity="0.1")
    line.run()


def test_a_stop_limit_holds_funds_waits_and_enters_the_book_when_the_price_reaches_it(
    funded, alice, bob, redis_conn
):
    trade_at(funded, alice, bob, "100.00")
    stop = funded.place(
        alice, "BTC/USDT", "BUY", "STOP_LIMIT", price="106.00", quantity="0.1", stop_price="105.00"
    )
    funded.run()
    order = Order.objects.get(pk=stop)
    assert (order.status, order.type, order.stop_price, order.triggered_at) == (
        "NEW",
        "STOP_LIMIT",
        Decimal("105"),
        None,
    )
    assert balance(alice, "USDT")[1] == Decimal("10.6106")  # 106 x 0.1 and the 0.1 % taker fee, held now
    trade_at(funded, alice, bob, "105.00")
    order.refresh_from_db()
    assert order.status == "NEW" and order.triggered_at is not None and order.engine_sequence
    statuses = [u["status"] for u in user_feed(redis_conn, alice) if u.get("order_id") == str(stop)]
    assert statuses == ["NEW", "TRIGGERED", "NEW"]
    first = next(u for u in user_feed(redis_conn, alice) if u.get("order_id") == str(stop))
    assert (first["order_type"], first["stop_price"], first["triggered"]) == ("STOP_LIMIT", "105.00", False)


def test_a_stop_market_sell_is_cancelled_before_it_triggers_and_releases_its_hold(funded, alice, bob):
    trade_at(funded, alice, bob, "100.00")
    stop = funded.place(bob, "BTC/USDT", "SELL", "STOP_MARKET", quantity="0.5", stop_price="95.00")
    funded.run()
    assert balance(bob, "BTC")[1] == Decimal("0.5")
    funded.entry.cancel(bob.pk, stop)
    funded.run()
    assert Order.objects.get(pk=stop).status == "CANCELED"
    assert balance(bob, "BTC")[1] == 0
    trade_at(funded, alice, bob, "90.00")
    assert Order.objects.get(pk=stop).status == "CANCELED"


def test_an_iceberg_shows_its_display_size_and_a_restart_keeps_its_reserve(funded, alice, bob):
    iceberg = funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="1", display_quantity="0.2")
    funded.run()
    worker = next(
        w
        for w in funded.workers
        if isinstance(w, MatchingWorker) and w._stage and "BTC/USDT" in w._stage.books
    )
    assert worker._stage is not None
    book = worker._stage.books["BTC/USDT"]
    assert book.depth(5) == ([], [(10000, 20000)])  # ticks of 0.01, lots of 0.00001
    placed_sequence = Order.objects.get(pk=iceberg).engine_sequence
    funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.3")
    funded.run()
    order = Order.objects.get(pk=iceberg)
    assert (order.executed_quantity, order.hidden_quantity) == (Decimal("0.3"), Decimal("0.6"))
    assert (order.engine_sequence or 0) > (placed_sequence or 0)  # refilled at the back of its level
    assert book.depth(5) == ([], [(10000, 10000)])
    # A new leader rebuilds the book from the rows: the same visible part, the same reserve.
    worker.shutdown()
    restarted = MatchingWorker(worker.shard, funded.redis)
    assert restarted.become_leader()
    funded.workers[funded.workers.index(worker)] = restarted
    assert restarted._stage is not None
    rebuilt = restarted._stage.books["BTC/USDT"]
    assert rebuilt.depth(5) == ([], [(10000, 10000)]) and rebuilt.reserve_of(iceberg) == 60000


def test_a_good_till_date_order_expires_with_no_other_activity(funded, alice, bob):
    clock = {"now": 0}
    for worker in funded.workers:
        if isinstance(worker, MatchingWorker):
            worker.expiry_clock.now_ms = lambda: clock["now"]
    funded.run()
    gtd = funded.place(
        alice,
        "BTC/USDT",
        "BUY",
        price="90.00",
        quantity="0.1",
        time_in_force="GTD",
        expire_at_ms=4_102_444_800_000,
    )
    funded.run()
    order = Order.objects.get(pk=gtd)
    assert order.status == "NEW" and order.expire_at is not None
    clock["now"] = 4_102_444_800_000 - 1
    funded.run()
    assert Order.objects.get(pk=gtd).status == "NEW"
    clock["now"] = 4_102_444_800_000
    funded.run()
    order.refresh_from_db()
    assert (order.status, order.reject_reason) == ("EXPIRED", "EXPIRED")
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))
