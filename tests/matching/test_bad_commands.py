"""Bad commands give one Rejected event with a reason, never an exception, and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import (
    MAX_VALUE,
    CommandKind,
    EventKind,
    OrderBook,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from matching.commands import Book
from matching.events import Event, Rejected
from matching.reference import ReferenceBook

MARKET_ID = 5
ALICE, BOB = 1, 2
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEWEST = SelfTradePrevention.CANCEL_NEWEST


def populated(book_class: Callable[[int], Book]) -> Book:
    """A book with both sides, a partially filled order and some trade history."""
    book = book_class(MARKET_ID)
    book.place(1, ALICE, SELL, LIMIT, GTC, 101, 5)
    book.place(2, ALICE, BUY, LIMIT, GTC, 99, 5)
    book.place(3, BOB, BUY, LIMIT, GTC, 101, 2)
    return book


def state(book: Book) -> tuple[Any, ...]:
    return book.state_hash(), book.depth(10), dict(book.open_orders)


BOOKS = pytest.mark.parametrize("book_class", [OrderBook, ReferenceBook], ids=["fast", "reference"])


def place(order_id: int = 10, user_id: int = BOB, **fields: Any) -> Callable[[Book], list[Event]]:
    command: dict[str, Any] = dict(
        side=BUY,
        order_type=LIMIT,
        tif=GTC,
        price_ticks=100,
        qty_lots=1,
        quote_lots=None,
        post_only=False,
        stp=NEWEST,
    )
    command.update(fields)
    return lambda book: book.place(order_id, user_id, ts=42, **command)


BAD_PLACES: list[tuple[str, Callable[[Book], list[Event]], RejectReason]] = [
    ("zero quantity", place(qty_lots=0), RejectReason.INVALID_QUANTITY),
    ("negative quantity", place(qty_lots=-3), RejectReason.INVALID_QUANTITY),
    ("fractional quantity", place(qty_lots=1.5), RejectReason.INVALID_QUANTITY),
    ("quantity above 64 bits", place(qty_lots=MAX_VALUE + 1), RejectReason.INVALID_QUANTITY),
    ("price off the grid", place(price_ticks=100.5), RejectReason.INVALID_PRICE),
    ("decimal price", place(price_ticks=Decimal("100")), RejectReason.INVALID_PRICE),
    ("zero price", place(price_ticks=0), RejectReason.INVALID_PRICE),
    ("negative price", place(price_ticks=-100), RejectReason.INVALID_PRICE),
    ("limit without price", place(price_ticks=None), RejectReason.INVALID_PRICE),
    ("limit with a quote amount", place(quote_lots=500), RejectReason.INVALID_QUANTITY),
    ("market with a price", place(order_type=MARKET), RejectReason.INVALID_PRICE),
    (
        "market buy with quantity and quote",
        place(order_type=MARKET, price_ticks=None, quote_lots=500),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "market buy with neither quantity nor quote",
        place(order_type=MARKET, price_ticks=None, qty_lots=None),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "market sell by quote amount",
        place(side=SELL, order_type=MARKET, price_ticks=None, qty_lots=None, quote_lots=500),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "market buy by quote, fill or kill",
        place(order_type=MARKET, tif=FOK, price_ticks=None, qty_lots=None, quote_lots=500),
        RejectReason.INVALID_TIME_IN_FORCE,
    ),
    ("post-only IOC", place(tif=IOC, post_only=True), RejectReason.INVALID_POST_ONLY),
    (
        "post-only market order",
        place(order_type=MARKET, price_ticks=None, post_only=True),
        RejectReason.INVALID_POST_ONLY,
    ),
    ("unknown side", place(side=3), RejectReason.INVALID_SIDE),
    ("side as text", place(side="BUY"), RejectReason.INVALID_SIDE),
    ("unhashable side", place(side=[1]), RejectReason.INVALID_SIDE),
    ("unknown order type", place(order_type=0), RejectReason.INVALID_ORDER_TYPE),
    ("unknown time in force", place(tif=9), RejectReason.INVALID_TIME_IN_FORCE),
    ("unknown self-trade mode", place(stp=0), RejectReason.INVALID_STP),
    ("zero order id", place(order_id=0), RejectReason.INVALID_ORDER_ID),
    ("order id as text", place(order_id="10"), RejectReason.INVALID_ORDER_ID),  # type: ignore[arg-type]
    ("user id as text", place(user_id="bob"), RejectReason.INVALID_USER_ID),  # type: ignore[arg-type]
    ("duplicate order id", place(order_id=2), RejectReason.DUPLICATE_ORDER_ID),
    ("spend cap on a limit order", place(spend_units=500), RejectReason.INVALID_QUANTITY),
    (
        "spend cap on a market sell",
        place(side=SELL, order_type=MARKET, price_ticks=None, spend_units=500),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "spend cap on a market buy by quote amount",
        place(order_type=MARKET, price_ticks=None, qty_lots=None, quote_lots=500, spend_units=500),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "negative spend cap",
        place(order_type=MARKET, price_ticks=None, spend_units=-1),
        RejectReason.INVALID_QUANTITY,
    ),
    (
        "spend cap that buys no lot at the best ask",
        place(order_type=MARKET, price_ticks=None, spend_units=100),
        RejectReason.INSUFFICIENT_FUNDS,
    ),
    (
        "notional above 64 bits",
        place(price_ticks=2, qty_lots=MAX_VALUE // 2 + 1, tif=IOC),
        RejectReason.NOTIONAL_TOO_LARGE,
    ),
    (
        "a side's lots above 64 bits",
        place(price_ticks=1, qty_lots=MAX_VALUE),
        RejectReason.BOOK_TOTAL_TOO_LARGE,
    ),
    (
        "a side's notional above 64 bits",
        place(side=SELL, price_ticks=MAX_VALUE // 10, qty_lots=10),
        RejectReason.BOOK_TOTAL_TOO_LARGE,
    ),
]

BAD_CANCELS_AND_AMENDS: list[tuple[str, Callable[[Book], list[Event]], RejectReason, CommandKind]] = [
    (
        "cancel of an unknown order",
        lambda b: b.cancel(77, ALICE, 42),
        RejectReason.UNKNOWN_ORDER,
        CommandKind.CANCEL,
    ),
    (
        "cancel of a filled order",
        lambda b: b.cancel(3, BOB, 42),
        RejectReason.UNKNOWN_ORDER,
        CommandKind.CANCEL,
    ),
    ("cancel by another user", lambda b: b.cancel(1, BOB, 42), RejectReason.NOT_OWNER, CommandKind.CANCEL),
    (
        "cancel with an unhashable id",
        lambda b: b.cancel([1], ALICE, 42),  # type: ignore[arg-type]
        RejectReason.UNKNOWN_ORDER,
        CommandKind.CANCEL,
    ),
    (
        "amend of an unknown order",
        lambda b: b.amend(77, ALICE, 1, None, 42),
        RejectReason.UNKNOWN_ORDER,
        CommandKind.AMEND,
    ),
    (
        "amend by another user",
        lambda b: b.amend(1, BOB, 1, None, 42),
        RejectReason.NOT_OWNER,
        CommandKind.AMEND,
    ),
    (
        "amend changing nothing",
        lambda b: b.amend(1, ALICE, None, None, 42),
        RejectReason.INVALID_AMEND,
        CommandKind.AMEND,
    ),
    (
        "amend to the same values",
        lambda b: b.amend(1, ALICE, 5, 101, 42),
        RejectReason.INVALID_AMEND,
        CommandKind.AMEND,
    ),
    (
        "amend to zero quantity",
        lambda b: b.amend(1, ALICE, 0, None, 42),
        RejectReason.INVALID_QUANTITY,
        CommandKind.AMEND,
    ),
    (
        "amend below the filled size",
        lambda b: b.amend(1, ALICE, 2, None, 42),
        RejectReason.INVALID_AMEND,
        CommandKind.AMEND,
    ),
    (
        "amend to a price off the grid",
        lambda b: b.amend(1, ALICE, None, 100.5, 42),  # type: ignore[arg-type]
        RejectReason.INVALID_PRICE,
        CommandKind.AMEND,
    ),
    (
        "amend to a negative price",
        lambda b: b.amend(1, ALICE, None, -1, 42),
        RejectReason.INVALID_PRICE,
        CommandKind.AMEND,
    ),
    (
        "amend to a notional above 64 bits",
        lambda b: b.amend(1, ALICE, None, MAX_VALUE // 5 + 1, 42),
        RejectReason.NOTIONAL_TOO_LARGE,
        CommandKind.AMEND,
    ),
]


@BOOKS
@pytest.mark.parametrize(("name", "command", "reason"), BAD_PLACES, ids=[c[0] for c in BAD_PLACES])
def test_it_rejects_a_bad_place_and_changes_nothing(
    book_class: Callable[[int], Book], name: str, command: Callable[[Book], list[Event]], reason: RejectReason
) -> None:
    book = populated(book_class)
    before = state(book)
    events = command(book)
    assert len(events) == 1
    rejected = Rejected._make(events[0])
    assert (rejected.kind, rejected.command, rejected.reason, rejected.ts) == (
        EventKind.REJECTED,
        CommandKind.PLACE,
        reason,
        42,
    )
    assert state(book) == before
    book.check_invariants()


@BOOKS
@pytest.mark.parametrize(
    ("name", "command", "reason", "kind"), BAD_CANCELS_AND_AMENDS, ids=[c[0] for c in BAD_CANCELS_AND_AMENDS]
)
def test_it_rejects_a_bad_cancel_or_amend_and_changes_nothing(
    book_class: Callable[[int], Book],
    name: str,
    command: Callable[[Book], list[Event]],
    reason: RejectReason,
    kind: CommandKind,
) -> None:
    book = populated(book_class)
    before = state(book)
    events = command(book)
    assert [(e[0], Rejected._make(e).command, Rejected._make(e).reason) for e in events] == [
        (EventKind.REJECTED, kind, reason)
    ]
    assert state(book) == before
    book.check_invariants()


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=4),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    # A signalling NaN raises on any comparison by design; a quiet one must be handled.
    st.decimals(allow_nan=False),
    st.just(Decimal("NaN")),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
        anything,
    )
)
def test_it_never_raises_on_arbitrary_place_arguments(fields: tuple[Any, ...]) -> None:
    fast, reference = populated(OrderBook), populated(ReferenceBook)
    before = state(fast)
    order_id, user_id, side, order_type, tif, price, qty, quote, post_only, stp, spend = fields
    command = (order_id, user_id, side, order_type, tif, price, qty, quote, post_only, stp, 1, spend)
    events = fast.place(*command)
    assert events == reference.place(*command)
    if events[0][0] == EventKind.REJECTED:
        assert len(events) == 1 and state(fast) == before
    fast.check_invariants()
    assert fast.state_hash() == reference.state_hash()


@settings(max_examples=150, deadline=None)
@given(anything, anything, anything, anything)
def test_it_never_raises_on_arbitrary_cancel_and_amend_arguments(
    order_id: Any, user_id: Any, qty: Any, price: Any
) -> None:
    fast, reference = populated(OrderBook), populated(ReferenceBook)
    assert fast.amend(order_id, user_id, qty, price, 1) == reference.amend(order_id, user_id, qty, price, 1)
    assert fast.cancel(order_id, user_id, 1) == reference.cancel(order_id, user_id, 1)
    fast.check_invariants()
    assert fast.state_hash() == reference.state_hash()
