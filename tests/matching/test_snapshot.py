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
LIMIT, GTC = OrderType.LIMIT, TimeInForce.GTC


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


GOLDEN_HASH = "ce7ca89a8c752dc817bd95b1b4536b717e091fba35d84b5ecac100d724db6593"


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
}


@pytest.mark.parametrize("change", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_it_refuses_to_restore_a_corrupt_snapshot(change: Any) -> None:
    with pytest.raises(SnapshotError):
        OrderBook.restore(MARKET_ID, corrupt(change))


def test_it_refuses_a_snapshot_that_is_not_a_dict() -> None:
    with pytest.raises(SnapshotError):
        OrderBook.restore(MARKET_ID, [])  # type: ignore[arg-type]
