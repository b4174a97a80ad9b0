"""Snapshot, restore and the state hash: what recovery relies on."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from matching import (
    EventKind,
    OrderBook,
    OrderType,
    SelfTradePrevention,
    Side,
    SnapshotError,
    TimeInForce,
)
from matching.events import Event

MARKET_ID = 9
ALICE, BOB = 1, 2
BUY, SELL = Side.BUY, Side.SELL
LIMIT, GTC, IOC = OrderType.LIMIT, TimeInForce.GTC, TimeInForce.IOC


def busy_book() -> OrderBook:
    """Several levels per side, a partial fill, a post-only order and a cancelled hole in a queue."""
    book = OrderBook(MARKET_ID)
    book.place(1, ALICE, SELL, LIMIT, GTC, 105, 4)
    book.place(2, BOB, SELL, LIMIT, GTC, 105, 3, stp=SelfTradePrevention.CANCEL_BOTH)
    book.place(3, ALICE, SELL, LIMIT, GTC, 105, 2)
    book.place(4, BOB, SELL, LIMIT, GTC, 107, 1, post_only=True)
    book.place(5, ALICE, BUY, LIMIT, GTC, 100, 6)
    book.place(6, BOB, BUY, LIMIT, GTC, 99, 2)
    book.place(7, BOB, BUY, LIMIT, GTC, 105, 1)
    book.cancel(2, BOB)
    return book


def only_plain_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and only_plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(only_plain_json(v) for v in value)
    return type(value) in (int, str)


def test_a_snapshot_holds_only_plain_json_values() -> None:
    state = busy_book().snapshot()
    assert only_plain_json(state)
    assert json.loads(json.dumps(state)) == state


def test_it_restores_an_equal_book_from_a_json_round_trip() -> None:
    book = busy_book()
    restored = OrderBook.restore(MARKET_ID, json.loads(json.dumps(book.snapshot())))
    assert restored.state_hash() == book.state_hash()
    assert restored.depth(10) == book.depth(10)
    assert dict(restored.open_orders) == dict(book.open_orders)
    assert restored.snapshot() == book.snapshot()
    restored.check_invariants()


def test_a_restored_book_continues_with_the_same_events_and_trade_ids() -> None:
    book = busy_book()
    restored = OrderBook.restore(MARKET_ID, book.snapshot())
    for target in (book, restored):
        assert target.trade_sequence == 1
    follow_up: list[Callable[[OrderBook], list[Event]]] = [
        lambda b: b.place(8, BOB, BUY, LIMIT, GTC, 106, 9, ts=50),
        lambda b: b.cancel_all(ALICE, ts=51),
        lambda b: b.amend(6, BOB, 1, 101, ts=52),
    ]
    for command in follow_up:
        assert command(restored) == command(book)
    trade_ids = [e[2] for e in book.place(9, ALICE, SELL, LIMIT, GTC, 99, 1) if e[0] == EventKind.TRADE]
    assert trade_ids and all(tid >> 40 == MARKET_ID for tid in trade_ids)
    restored.check_invariants()


def test_the_state_hash_ignores_arrival_numbers_but_not_priority() -> None:
    first = OrderBook(MARKET_ID)
    first.place(1, ALICE, SELL, LIMIT, GTC, 105, 4)
    first.place(2, BOB, SELL, LIMIT, GTC, 105, 3)
    second = OrderBook(MARKET_ID)
    second.place(99, ALICE, SELL, LIMIT, GTC, 200, 1)
    second.cancel(99, ALICE)
    second.place(1, ALICE, SELL, LIMIT, GTC, 105, 4)
    second.place(2, BOB, SELL, LIMIT, GTC, 105, 3)
    assert first.state_hash() == second.state_hash()
    second.amend(1, ALICE, new_qty_lots=5)  # now behind order 2
    second.amend(1, ALICE, new_qty_lots=4)
    assert first.state_hash() != second.state_hash()
    second.check_invariants()


def test_the_state_hash_is_stable_across_versions() -> None:
    # Recovery compares hashes computed by different processes and releases: changing the
    # hash means changing snapshot.FORMAT.
    book = OrderBook(1)
    book.place(1, ALICE, BUY, LIMIT, GTC, 100, 2)
    book.place(2, BOB, SELL, LIMIT, GTC, 101, 3)
    assert book.state_hash() == GOLDEN_HASH
    book.check_invariants()


GOLDEN_HASH = "253a9d2e5ace010b35c620d66b8ae49ad0ffb330e98291ee368173a86e479290"


# ----------------------------------------------- stops, icebergs, expiries, last price (ADR 0013)

MARKET = OrderType.MARKET
CAROL = 3


def book_with_extras() -> OrderBook:
    """Pending stops of each kind, an iceberg refilled and then partly taken, GTD orders, a last price."""
    book = OrderBook(MARKET_ID)
    book.place(1, ALICE, SELL, LIMIT, GTC, 101, 1, ts=1)
    book.place(2, BOB, BUY, LIMIT, GTC, 101, 1, ts=2)  # a trade: the last price is 101
    book.place_limit(3, ALICE, SELL, 103, 10, display_lots=4, ts=3)  # shows 4, hides 6
    book.place_limit(4, CAROL, SELL, 103, 2, expire_ts=500, ts=4)  # behind the iceberg
    book.place(5, BOB, BUY, LIMIT, GTC, 103, 5, ts=5)  # takes 4 (refill: 4 behind order 4), then 1 of order 4
    book.place_limit(6, CAROL, BUY, 99, 3, display_lots=1, expire_ts=400, ts=6)
    book.place_stop(7, BOB, BUY, LIMIT, GTC, 106, 2, 105, ts=7)
    book.place_stop(8, CAROL, SELL, MARKET, IOC, None, 2, 98, ts=8)
    book.place_stop(9, ALICE, BUY, MARKET, GTC, None, None, 104, quote_lots=500, ts=9)
    book.place_stop(10, BOB, BUY, LIMIT, GTC, 104, 1, 104, ts=10)  # same trigger as 9, later: enters after it
    assert book.reserve_of(3) == 2 and book.reserve_of(6) == 2
    assert book.open_orders[3].remaining_lots == 4 and book.open_orders[4].remaining_lots == 1
    assert book.last_price == 103 and len(book.stop_orders) == 4
    book.check_invariants()
    return book


def test_a_snapshot_keeps_stops_reserves_expiries_and_the_last_price() -> None:
    book = book_with_extras()
    state = json.loads(json.dumps(book.snapshot()))
    assert only_plain_json(state) and state["format"] == 2
    restored = OrderBook.restore(MARKET_ID, state)
    assert restored.snapshot() == book.snapshot()
    assert restored.state_hash() == book.state_hash()
    assert [s.order_id for s in restored.stop_orders] == [7, 8, 9, 10]
    assert (restored.reserve_of(3), restored.reserve_of(6)) == (2, 2)
    assert (restored.expire_time_of(4), restored.expire_time_of(6)) == (500, 400)
    assert restored.last_price == 103
    restored.check_invariants()


def test_a_restored_book_triggers_refills_and_expires_as_the_original() -> None:
    book = book_with_extras()
    restored = OrderBook.restore(MARKET_ID, json.loads(json.dumps(book.snapshot())))
    follow_up: list[Callable[[OrderBook], list[Event]]] = [
        lambda b: b.place(20, BOB, BUY, LIMIT, GTC, 104, 1, ts=20),  # takes order 4's last lot
        lambda b: b.place(21, BOB, BUY, LIMIT, GTC, 104, 7, ts=21),  # the iceberg refills and trades out
        lambda b: b.place(22, ALICE, SELL, LIMIT, GTC, 104, 9, ts=22),  # trades at 104: stops 9 then 10
        lambda b: b.expire(450),  # order 6, a GTD iceberg, with its reserve
        lambda b: b.place(23, ALICE, SELL, LIMIT, GTC, 98, 1, ts=460),
        lambda b: b.place(24, BOB, BUY, LIMIT, GTC, 98, 1, ts=461),  # 98: stop 8 sells
        lambda b: b.cancel_all(BOB, ts=470),
    ]
    kinds_seen: set[EventKind] = set()
    for command in follow_up:
        events = command(book)
        assert command(restored) == events
        kinds_seen.update(EventKind(e[0]) for e in events)
        assert restored.state_hash() == book.state_hash()
    assert {EventKind.TRIGGERED, EventKind.REFRESHED, EventKind.CANCELLED} <= kinds_seen
    restored.check_invariants()


def test_a_format_1_snapshot_still_restores_its_resting_orders() -> None:
    state = busy_book().snapshot()
    old = {key: state[key] for key in ("market_id", "trade_seq", "order_seq", "orders")}
    restored = OrderBook.restore(MARKET_ID, {**old, "format": 1})
    assert restored.snapshot() == {**state, "last_price": 0}  # format 1 had no last price


def changed(change: Callable[[dict[str, Any]], None]) -> OrderBook:
    state = copy.deepcopy(book_with_extras().snapshot())
    change(state)
    return OrderBook.restore(MARKET_ID, state)


def swap_first_two_stops(state: dict[str, Any]) -> None:
    state["stops"][0], state["stops"][1] = state["stops"][1], state["stops"][0]


HASHED_EXTRAS = {
    "a reserve": lambda s: s["icebergs"][0].__setitem__(1, 1),
    "a display size": lambda s: s["icebergs"][0].__setitem__(2, 5),
    "no reserve": lambda s: s["icebergs"].pop(0),
    "an expire time": lambda s: s["expiries"][0].__setitem__(1, 501),
    "no expire time": lambda s: s["expiries"].pop(0),
    "a stop price": lambda s: s["stops"][0].__setitem__(8, 106),
    "a missing stop": lambda s: s["stops"].pop(),
    "the stops' arrival order": swap_first_two_stops,
    "the last price": lambda s: s.update(last_price=102),
    "no last price": lambda s: s.update(last_price=0),
}


@pytest.mark.parametrize("change", HASHED_EXTRAS.values(), ids=HASHED_EXTRAS.keys())
def test_the_state_hash_covers_what_decides_future_matching(change: Any) -> None:
    assert changed(change).state_hash() != book_with_extras().state_hash()


def test_the_state_hash_with_extras_is_stable_across_versions() -> None:
    assert book_with_extras().state_hash() == GOLDEN_HASH_WITH_EXTRAS


GOLDEN_HASH_WITH_EXTRAS = "83b04be00e1d4486f2504ca431e68f508b19cf2e8954d2fed3847ade958a686a"


def corrupt(change: Any) -> dict[str, Any]:
    state = copy.deepcopy(busy_book().snapshot())
    change(state)
    return state


def swap_two_orders_of_one_level(state: dict[str, Any]) -> None:
    state["orders"][2], state["orders"][3] = state["orders"][3], state["orders"][2]


CORRUPTIONS = {
    "unknown format": lambda s: s.update(format=99),
    "another market": lambda s: s.update(market_id=MARKET_ID + 1),
    "negative trade sequence": lambda s: s.update(trade_seq=-1),
    "orders not a list": lambda s: s.update(orders={}),
    "short order row": lambda s: s["orders"][0].pop(),
    "text in an order row": lambda s: s["orders"][0].__setitem__(3, "105"),
    "unknown side": lambda s: s["orders"][0].__setitem__(2, 3),
    "remaining above size": lambda s: s["orders"][0].__setitem__(5, 10**6),
    "zero remaining": lambda s: s["orders"][0].__setitem__(5, 0),
    "arrival beyond the sequence": lambda s: s["orders"][0].__setitem__(7, 10**6),
    "duplicate order id": lambda s: s["orders"].append(list(s["orders"][0])),
    "queue out of arrival order": swap_two_orders_of_one_level,
    "crossed book": lambda s: s["orders"][0].__setitem__(3, 200),
    "format 2 without its extras": lambda s: s.pop("stops"),
}


def extras_corrupted(change: Any) -> dict[str, Any]:
    state = copy.deepcopy(book_with_extras().snapshot())
    change(state)
    return state


EXTRAS_CORRUPTIONS = {
    "iceberg of no resting order": lambda s: s["icebergs"][0].__setitem__(0, 77),
    "zero reserve": lambda s: s["icebergs"][0].__setitem__(1, 0),
    "showing more than the display": lambda s: s["icebergs"][0].__setitem__(2, 3),
    "reserve past the order's size": lambda s: s["icebergs"][0].__setitem__(1, 7),
    "icebergs not by id": lambda s: s["icebergs"].reverse(),
    "expiry of no resting order": lambda s: s["expiries"][0].__setitem__(0, 77),
    "short stop row": lambda s: s["stops"][0].pop(),
    "stop without a stop price": lambda s: s["stops"][0].__setitem__(8, 0),
    "stop-limit without a price": lambda s: s["stops"][0].__setitem__(5, 0),
    "stop that also rests": lambda s: s["stops"][0].__setitem__(0, 3),
    "stop twice": lambda s: s["stops"].append(list(s["stops"][0])),
    "null last price": lambda s: s.update(last_price=None),
}


@pytest.mark.parametrize("change", EXTRAS_CORRUPTIONS.values(), ids=EXTRAS_CORRUPTIONS.keys())
def test_it_refuses_corrupt_extras(change: Any) -> None:
    with pytest.raises(SnapshotError):
        OrderBook.restore(MARKET_ID, extras_corrupted(change))


@pytest.mark.parametrize("change", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_it_refuses_to_restore_a_corrupt_snapshot(change: Any) -> None:
    with pytest.raises(SnapshotError):
        OrderBook.restore(MARKET_ID, corrupt(change))


def test_it_refuses_a_snapshot_that_is_not_a_dict() -> None:
    with pytest.raises(SnapshotError):
        OrderBook.restore(MARKET_ID, [])  # type: ignore[arg-type]
