"""The checks behind ``OrderBook.check_invariants()``: slow, thorough, for tests and recovery."""

from __future__ import annotations

from typing import NoReturn

from sortedcontainers import SortedDict

from matching.errors import InvariantViolation
from matching.orders import OrderRecord, UserOrders
from matching.price_level import PriceLevel
from matching.types import MAX_VALUE, Side


def fail(message: str) -> NoReturn:
    raise InvariantViolation(message)


def check_book(
    bids: SortedDict[int, PriceLevel],
    asks: SortedDict[int, PriceLevel],
    best_bid: PriceLevel | None,
    best_ask: PriceLevel | None,
    index: dict[int, OrderRecord],
    order_seq: int,
) -> None:
    """Not crossed; level totals equal their orders; index equals the levels; FIFO holds."""
    live = _check_side(bids, Side.BUY, index, order_seq) + _check_side(asks, Side.SELL, index, order_seq)
    if live != len(index):
        fail(f"index holds {len(index)} orders, levels hold {live}")
    if best_bid is not (bids.peekitem(0)[1] if bids else None):
        fail("cached best bid is not the best bid level")
    if best_ask is not (asks.peekitem(0)[1] if asks else None):
        fail("cached best ask is not the best ask level")
    if best_bid is not None and best_ask is not None and best_bid.price >= best_ask.price:
        fail(f"book crossed: bid {best_bid.price} >= ask {best_ask.price}")


def check_user_index(index: dict[int, OrderRecord], by_user: dict[int, UserOrders]) -> None:
    """The index by user holds exactly the resting orders, each once under its own user, counted."""
    count = 0
    for user_id, orders in by_user.items():
        resting = orders.resting()
        if not resting:
            fail(f"user {user_id} kept in the index by user with no order")
        if orders.live != len(resting):
            fail(f"user {user_id} counted with {orders.live} resting orders, holds {len(resting)}")
        for record in resting:
            if index.get(record.order_id) is not record or record.user_id != user_id:
                fail(
                    f"order {record.order_id} of user {user_id} in the index by user is not resting as theirs"
                )
        if len({id(record) for record in resting}) != len(resting):
            fail(f"an order of user {user_id} is twice in the index by user")
        count += len(resting)
    if count != len(index):
        fail(f"index holds {len(index)} orders, the index by user {count}")


def check_side_totals(levels: SortedDict[int, PriceLevel], side: Side, notional: int) -> None:
    """A side's kept notional equals its levels' and fits MAX_VALUE, and so do its lots.

    Every price is at least one tick, so a side's lots never exceed its notional:
    the book keeps the notional only, and bounding it bounds both.
    """
    lots = sum(level.total for level in levels.values())
    expected = sum(level.total * level.price for level in levels.values())
    if notional != expected:
        fail(f"{side.name} side notional {notional}; levels give {expected}")
    if lots > notional or notional > MAX_VALUE:
        fail(
            f"{side.name} side totals {lots} lots, {notional} notional: "
            f"above {MAX_VALUE}, or lots above notional"
        )


def _check_side(
    levels: SortedDict[int, PriceLevel],
    side: Side,
    index: dict[int, OrderRecord],
    order_seq: int,
) -> int:
    live_count = 0
    for key, level in levels.items():
        where = f"{side.name} level {level.price}"
        expected_key = -level.price if side is Side.BUY else level.price
        if key != level.key or key != expected_key:
            fail(f"{where}: keyed {key}, level key {level.key}")
        if level.total <= 0:
            fail(f"{where}: empty level kept in the book")
        total = 0
        dead = 0
        last_seq = 0
        for record in level.orders:
            if record.seq <= last_seq:
                fail(f"{where}: FIFO broken at order {record.order_id}")
            if record.seq > order_seq:
                fail(f"{where}: order {record.order_id} arrived after the book's last arrival")
            last_seq = record.seq
            remaining = record.remaining
            if remaining == 0:
                dead += 1
                continue
            if not 0 < remaining <= record.qty:
                fail(f"{where}: order {record.order_id} remaining {remaining} of {record.qty}")
            if record.price != level.price or record.side != side:
                fail(f"{where}: holds order {record.order_id} of another side or price")
            if index.get(record.order_id) is not record:
                fail(f"{where}: order {record.order_id} missing from the index")
            total += remaining
            live_count += 1
        if total != level.total:
            fail(f"{where}: total {level.total} but orders sum to {total}")
        if dead != level.dead:
            fail(f"{where}: {dead} cancelled records in queue, counted {level.dead}")
    return live_count
