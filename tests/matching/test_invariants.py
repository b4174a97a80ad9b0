"""check_invariants() notices each kind of corruption (reaching into the book on purpose)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from matching import InvariantViolation, OrderBook, OrderType, Side, TimeInForce

BUY, SELL = Side.BUY, Side.SELL
LIMIT, GTC = OrderType.LIMIT, TimeInForce.GTC


def book_with_queues() -> OrderBook:
    book = OrderBook(1)
    for order_id, side, price in [(1, BUY, 99), (2, BUY, 99), (3, BUY, 98), (4, SELL, 101), (5, SELL, 102)]:
        book.place(order_id, 7, side, LIMIT, GTC, price, 5)
    return book


def level(book: OrderBook, side: Side, price: int) -> Any:
    return (book._bids if side is BUY else book._asks)[-price if side is BUY else price]


def cross_the_book(book: OrderBook) -> None:
    moved = book._asks.pop(101)
    moved.key = moved.price = 98
    for record in moved.orders:
        record.price = 98
    book._asks[98] = moved
    book._best_ask = moved


CORRUPTIONS: dict[str, Callable[[OrderBook], None]] = {
    "level total off": lambda b: setattr(level(b, BUY, 99), "total", 11),
    "order missing from the index": lambda b: b._index.__delitem__(2),
    "index entry without a level": lambda b: b._index.__setitem__(9, b._index[1].copy()),
    "fifo broken": lambda b: level(b, BUY, 99).orders.rotate(1),
    "order filled but still queued": lambda b: level(b, BUY, 98).orders[0].__setattr__("remaining", -1),
    "arrival number from the future": lambda b: level(b, SELL, 102).orders[0].__setattr__("seq", 99),
    "stale best bid": lambda b: setattr(b, "_best_bid", level(b, BUY, 98)),
    "crossed book": cross_the_book,
    "dead records miscounted": lambda b: setattr(level(b, SELL, 102), "dead", 1),
}


def test_an_intact_book_passes() -> None:
    book_with_queues().check_invariants()


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_it_reports_a_corrupted_book(corrupt: Callable[[OrderBook], None]) -> None:
    book = book_with_queues()
    corrupt(book)
    with pytest.raises(InvariantViolation):
        book.check_invariants()


def test_an_invariant_violation_is_an_assertion_error() -> None:
    assert issubclass(InvariantViolation, AssertionError)
