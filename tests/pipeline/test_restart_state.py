"""A matching worker's restart rebuilds from the rows every state the book holds (ADR 0013).

Pending stops and the order they trigger in, icebergs' reserves after a
refill, GTD expire times and the last trade price: the book rebuilt from the
database must equal the running one and the one replayed from the stream,
before a restart and after the restarted worker went on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from exchange.models import Order
from exchange.pipeline.loading import load_books
from exchange.pipeline.markets import load_markets
from exchange.pipeline.workers import AccountsWorker, MatchingWorker
from exchange.routing import account_shard_for
from matching import OrderBook
from tests.pipeline.checks import funded_and_checked
from tests.pipeline.replay import book_difference, replay_matching_stream

SYMBOL = "BTC/USDT"
FAR = 4_102_444_800_000  # 2100-01-01, in ms


def matching_worker(line: Any) -> MatchingWorker:
    return next(
        w for w in line.workers if isinstance(w, MatchingWorker) and w._stage and SYMBOL in w._stage.books
    )


def book_of(worker: MatchingWorker) -> OrderBook:
    assert worker._stage is not None
    return worker._stage.books[SYMBOL]


def restart(line: Any, worker: MatchingWorker) -> MatchingWorker:
    worker.shutdown()
    restarted = MatchingWorker(worker.shard, line.redis)
    assert restarted.become_leader()
    line.workers[line.workers.index(worker)] = restarted
    return restarted


def assert_rebuilt_equals_running_and_replayed(line: Any, worker: MatchingWorker) -> None:
    markets = {s: r for s, r in load_markets().items() if r.shard == worker.shard}
    rebuilt = load_books(markets)[0][SYMBOL]
    running = book_of(worker)
    replayed = replay_matching_stream(line.redis, worker.shard, markets).books[SYMBOL]
    assert rebuilt.state_hash() == running.state_hash(), book_difference(rebuilt, running)
    assert replayed.state_hash() == running.state_hash(), book_difference(replayed, running)


@pytest.fixture
def funded(pipeline, alice, bob):
    deposits = [(alice, "USDT", "100000"), (alice, "BTC", "5"), (bob, "USDT", "100000"), (bob, "BTC", "5")]
    yield from funded_and_checked(pipeline, deposits)


def test_a_restart_rebuilds_stops_refilled_icebergs_expiries_and_the_last_price(funded, alice, bob):
    line = funded
    line.place(bob, SYMBOL, "SELL", price="100.00", quantity="0.1")
    line.place(alice, SYMBOL, "BUY", price="100.00", quantity="0.1")  # last price 100
    iceberg = line.place(bob, SYMBOL, "SELL", price="101.00", quantity="1", display_quantity="0.2")
    behind = line.place(bob, SYMBOL, "SELL", price="101.00", quantity="0.5")
    line.run()
    # Takes the shown 0.2, the iceberg refills behind `behind`, then 0.1 of `behind`: last price 101.
    line.place(alice, SYMBOL, "BUY", price="101.00", quantity="0.3")
    gtd = line.place(
        alice, SYMBOL, "BUY", price="95.00", quantity="0.4", time_in_force="GTD", expire_at_ms=FAR
    )
    gtd_iceberg = line.place(
        alice,
        SYMBOL,
        "BUY",
        price="96.00",
        quantity="0.6",
        display_quantity="0.1",
        time_in_force="GTD",
        expire_at_ms=FAR + 5,
    )
    # Three sell stops at one stop price: they must trigger in the order they came.
    sell_stops = [
        line.place(bob, SYMBOL, "SELL", "STOP_LIMIT", price="96.00", quantity="0.1", stop_price="97.00"),
        line.place(bob, SYMBOL, "SELL", "STOP_MARKET", quantity="0.05", stop_price="97.00"),
        line.place(bob, SYMBOL, "SELL", "STOP_LIMIT", price="95.00", quantity="0.2", stop_price="97.00"),
    ]
    buy_stops = [
        line.place(alice, SYMBOL, "BUY", "STOP_LIMIT", price="106.00", quantity="0.1", stop_price="105.00"),
        line.place(bob, SYMBOL, "BUY", "STOP_MARKET", quote_quantity="50", stop_price="105.00"),
    ]
    line.run()

    worker = matching_worker(line)
    book = book_of(worker)
    assert [s.order_id for s in book.stop_orders] == sell_stops + buy_stops
    assert book.reserve_of(iceberg) == 60000 and book.reserve_of(gtd_iceberg) == 50000
    assert book.expire_time_of(gtd) == FAR and book.last_price == 10100
    queue = [row[0] for row in book.snapshot()["orders"] if row[3] == 10100]  # in priority order
    assert queue == [behind, iceberg]
    assert_rebuilt_equals_running_and_replayed(line, worker)

    worker = restart(line, worker)
    assert_rebuilt_equals_running_and_replayed(line, worker)

    # After the restart: a trade at 96 triggers the sell stops, oldest first, each taking from the
    # GTD iceberg, which refills between them.
    line.place(bob, SYMBOL, "SELL", price="96.00", quantity="0.06")
    line.run()
    entered = Order.objects.filter(pk__in=sell_stops).order_by("engine_sequence").values_list("pk", flat=True)
    assert list(entered) == sell_stops
    assert all(o.triggered_at is not None for o in Order.objects.filter(pk__in=sell_stops))
    book = book_of(worker)
    assert book.reserve_of(gtd_iceberg) and [s.order_id for s in book.stop_orders] == buy_stops
    assert_rebuilt_equals_running_and_replayed(line, worker)
    worker = restart(line, worker)
    assert_rebuilt_equals_running_and_replayed(line, worker)

    # The GTD orders, the iceberg with its reserve, leave at a clock tick.
    worker.expiry_clock.now_ms = lambda: FAR + 5
    line.run()
    assert set(Order.objects.filter(pk__in=[gtd, gtd_iceberg]).values_list("status", flat=True)) == {
        "EXPIRED"
    }
    assert_rebuilt_equals_running_and_replayed(line, worker)
    worker = restart(line, worker)
    assert_rebuilt_equals_running_and_replayed(line, worker)


def test_pending_stops_are_rebuilt_in_arrival_order_when_ids_say_otherwise(
    pipeline, alice, bob, settings, redis_conn
):
    """With two accounts shards an order's id does not give its place in the matching stream."""
    settings.ACCOUNT_SHARDS = 2
    line = pipeline
    line.workers.insert(1, AccountsWorker(1, redis_conn))
    assert line.workers[1].become_leader()
    by_shard = {account_shard_for(user.pk): user for user in (alice, bob)}
    assert set(by_shard) == {0, 1}
    for user in (alice, bob):
        line.deposit(user, "USDT", "100000")
        line.deposit(user, "BTC", "5")
    line.run()
    line.place(by_shard[0], SYMBOL, "SELL", price="100.00", quantity="0.1")
    line.place(by_shard[1], SYMBOL, "BUY", price="100.00", quantity="0.1")
    line.run()
    # Shard 1's stop is placed first (the smaller id: an earlier millisecond), shard 0's next; the
    # accounts workers step in shard order, so shard 0's reaches matching first.
    first_placed = line.place(
        by_shard[1], SYMBOL, "BUY", "STOP_LIMIT", price="106.00", quantity="0.1", stop_price="105.00"
    )
    next_millisecond(first_placed)
    second_placed = line.place(
        by_shard[0], SYMBOL, "BUY", "STOP_LIMIT", price="107.00", quantity="0.1", stop_price="105.00"
    )
    assert first_placed < second_placed
    line.run()
    worker = matching_worker(line)
    arrival = [s.order_id for s in book_of(worker).stop_orders]
    assert arrival == [second_placed, first_placed]
    assert_rebuilt_equals_running_and_replayed(line, worker)
    worker = restart(line, worker)
    assert [s.order_id for s in book_of(worker).stop_orders] == arrival
    # They trigger in arrival order, after the restart as before it.
    line.place(by_shard[0], SYMBOL, "SELL", price="105.00", quantity="0.1")
    line.place(by_shard[1], SYMBOL, "BUY", price="105.00", quantity="0.1")
    line.run()
    entered = Order.objects.filter(pk__in=arrival).order_by("engine_sequence").values_list("pk", flat=True)
    assert list(entered) == arrival
    assert_rebuilt_equals_running_and_replayed(line, worker)


def next_millisecond(order_id: int) -> None:
    """Wait until the clock has passed the millisecond of that order's accounts entry."""
    from exchange.pipeline.ids import accepted_ms_of

    while time.time_ns() // 1_000_000 <= accepted_ms_of(order_id):
        time.sleep(0.001)
