"""One test per behaviour, run against the fast book and the naive reference book alike."""

from __future__ import annotations

from typing import Any

import pytest

from matching import (
    MAX_VALUE,
    Cancelled,
    CancelReason,
    EventKind,
    Filled,
    OrderBook,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
)
from matching.commands import Book
from matching.events import Event, view
from matching.reference import ReferenceBook

MARKET_ID = 3
ALICE, BOB, CAROL = 1, 2, 3
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEWEST = SelfTradePrevention.CANCEL_NEWEST
OLDEST = SelfTradePrevention.CANCEL_OLDEST
BOTH = SelfTradePrevention.CANCEL_BOTH
ALLOW = SelfTradePrevention.ALLOW


@pytest.fixture(params=[OrderBook, ReferenceBook], ids=["fast", "reference"])
def book(request: pytest.FixtureRequest) -> Book:
    book_class: Any = request.param
    built: Book = book_class(MARKET_ID)
    return built


def same_kind(book: Book) -> Book:
    """A new, empty book of the same implementation as ``book``."""
    book_class: Any = type(book)
    fresh: Book = book_class(MARKET_ID)
    return fresh


def limit(
    book: Book,
    order_id: int,
    side: Side,
    price: int,
    qty: int,
    user: int = ALICE,
    tif: TimeInForce = GTC,
    post_only: bool = False,
    stp: SelfTradePrevention = NEWEST,
) -> list[Event]:
    return book.place(order_id, user, side, LIMIT, tif, price, qty, None, post_only, stp, ts=order_id)


def market(
    book: Book,
    order_id: int,
    side: Side,
    qty: int | None = None,
    quote: int | None = None,
    user: int = ALICE,
    tif: TimeInForce = IOC,
    stp: SelfTradePrevention = NEWEST,
    spend: int | None = None,
) -> list[Event]:
    return book.place(order_id, user, side, MARKET, tif, None, qty, quote, False, stp, order_id, spend)


def summary(events: list[Event]) -> list[tuple[Any, ...]]:
    """Events cut to what a behaviour is about, so each expectation reads in one line."""
    short: list[tuple[Any, ...]] = []
    for event in events:
        kind = event[0]
        e: Any = view(event)
        if kind == EventKind.ACCEPTED:
            short.append(("accepted", e.order_id))
            if e.rested_lots is not None:  # rested at once: its level's total, as a Depth would give it
                short.append(("depth", e.side, e.price_ticks, e.rested_lots))
        elif kind == EventKind.REJECTED:
            short.append(("rejected", e.order_id, e.reason))
        elif kind == EventKind.TRADE:
            short.append(
                (
                    "trade",
                    e.maker_order_id,
                    e.taker_order_id,
                    e.price_ticks,
                    e.qty_lots,
                    e.maker_remaining_lots,
                )
            )
        elif kind == EventKind.CANCELLED:
            short.append(("cancelled", e.order_id, e.reason, e.remaining_lots))
        elif kind == EventKind.FILLED:
            short.append(("filled", e.order_id))
        elif kind == EventKind.AMENDED:
            short.append(("amended", e.order_id, e.price_ticks, e.remaining_lots, e.priority_kept))
        else:
            short.append(("depth", e.side, e.price_ticks, e.total_lots))
    return short


def asks_of(book: Book) -> list[tuple[int, int]]:
    return book.depth(100)[1]


def bids_of(book: Book) -> list[tuple[int, int]]:
    return book.depth(100)[0]


# ----------------------------------------------------------------- limit orders


def test_it_rests_a_limit_order_that_does_not_cross(book: Book) -> None:
    events = limit(book, 1, BUY, 100, 5)
    assert summary(events) == [("accepted", 1), ("depth", BUY, 100, 5)]
    assert book.best_bid() == 100 and book.best_ask() is None
    assert book.open_orders[1].remaining_lots == 5
    book.check_invariants()


def test_it_fills_the_oldest_order_of_a_level_first(book: Book) -> None:
    limit(book, 1, SELL, 100, 2, user=ALICE)
    limit(book, 2, SELL, 100, 2, user=BOB)
    events = limit(book, 3, BUY, 100, 3, user=CAROL)
    assert summary(events) == [
        ("accepted", 3),
        ("trade", 1, 3, 100, 2, 0),
        ("filled", 1),
        ("trade", 2, 3, 100, 1, 1),
        ("depth", SELL, 100, 1),
        ("filled", 3),
    ]
    book.check_invariants()


def test_it_fills_better_prices_first_at_the_maker_price(book: Book) -> None:
    limit(book, 1, SELL, 102, 1)
    limit(book, 2, SELL, 100, 1)
    limit(book, 3, SELL, 101, 1)
    events = limit(book, 4, BUY, 105, 2, user=BOB)
    trades = [view(e) for e in events if e[0] == EventKind.TRADE]
    assert [(t.price_ticks, t.maker_order_id) for t in trades if isinstance(t, Trade)] == [(100, 2), (101, 3)]
    assert asks_of(book) == [(102, 1)]
    book.check_invariants()


def test_it_reports_everything_settlement_needs_on_a_trade(book: Book) -> None:
    limit(book, 1, SELL, 100, 5, user=ALICE)
    events = book.place(2, BOB, BUY, LIMIT, GTC, 100, 2, ts=777)
    trade = view(events[1])
    assert trade == Trade(
        EventKind.TRADE, MARKET_ID, (MARKET_ID << 40) | 1, 1, ALICE, 2, BOB, BUY, 100, 2, 3, 777
    )
    book.check_invariants()


def test_it_rests_what_a_crossing_limit_order_could_not_fill(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = limit(book, 2, BUY, 101, 5, user=BOB)
    assert summary(events)[-2:] == [("depth", SELL, 100, 0), ("depth", BUY, 101, 3)]
    assert book.best_bid() == 101 and book.best_ask() is None
    book.check_invariants()


def test_it_emits_one_depth_change_per_level_swept(book: Book) -> None:
    for order_id, price in [(1, 100), (2, 100), (3, 101), (4, 102)]:
        limit(book, order_id, SELL, price, 1)
    events = limit(book, 5, BUY, 102, 4, user=BOB)
    depth = [s for s in summary(events) if s[0] == "depth"]
    assert depth == [("depth", SELL, 100, 0), ("depth", SELL, 101, 0), ("depth", SELL, 102, 0)]
    book.check_invariants()


# ------------------------------------------------------------ time in force


def test_it_fills_ioc_partially_and_cancels_the_rest(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = limit(book, 2, BUY, 100, 5, user=BOB, tif=IOC)
    assert summary(events)[-1] == ("cancelled", 2, CancelReason.IOC_REMAINDER, 3)
    assert bids_of(book) == [] and asks_of(book) == []
    book.check_invariants()


def test_it_cancels_an_ioc_that_does_not_cross(book: Book) -> None:
    limit(book, 1, SELL, 101, 2)
    events = limit(book, 2, BUY, 100, 5, user=BOB, tif=IOC)
    assert summary(events) == [("accepted", 2), ("cancelled", 2, CancelReason.IOC_REMAINDER, 5)]
    book.check_invariants()


def test_it_fills_fok_completely_when_liquidity_suffices(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 101, 3)
    events = limit(book, 3, BUY, 101, 5, user=BOB, tif=FOK)
    assert summary(events)[-1] == ("filled", 3)
    assert asks_of(book) == []
    book.check_invariants()


def test_it_kills_fok_without_trading_when_liquidity_is_short(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 102, 3)
    events = limit(book, 3, BUY, 101, 3, user=BOB, tif=FOK)
    assert summary(events) == [("accepted", 3), ("cancelled", 3, CancelReason.FOK_UNFILLABLE, 3)]
    assert asks_of(book) == [(100, 2), (102, 3)]
    book.check_invariants()


def test_it_kills_fok_that_would_reach_a_self_order_under_cancel_newest(book: Book) -> None:
    limit(book, 1, SELL, 100, 1, user=BOB)
    limit(book, 2, SELL, 100, 1, user=ALICE)
    limit(book, 3, SELL, 100, 5, user=CAROL)
    events = limit(book, 4, BUY, 100, 3, user=ALICE, tif=FOK, stp=NEWEST)
    assert summary(events)[-1] == ("cancelled", 4, CancelReason.FOK_UNFILLABLE, 3)
    assert asks_of(book) == [(100, 7)]
    book.check_invariants()


def test_it_does_not_count_self_orders_toward_fok_under_cancel_oldest(book: Book) -> None:
    limit(book, 1, SELL, 100, 4, user=ALICE)
    limit(book, 2, SELL, 100, 2, user=BOB)
    unfillable = limit(book, 3, BUY, 100, 3, user=ALICE, tif=FOK, stp=OLDEST)
    assert summary(unfillable)[-1] == ("cancelled", 3, CancelReason.FOK_UNFILLABLE, 3)
    assert 1 in book.open_orders
    fillable = limit(book, 4, BUY, 100, 2, user=ALICE, tif=FOK, stp=OLDEST)
    assert summary(fillable)[1:] == [
        ("cancelled", 1, CancelReason.SELF_TRADE, 4),
        ("trade", 2, 4, 100, 2, 0),
        ("filled", 2),
        ("depth", SELL, 100, 0),
        ("filled", 4),
    ]
    book.check_invariants()


# ---------------------------------------------------------------- post-only


def test_it_cancels_a_post_only_order_that_would_cross(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = limit(book, 2, BUY, 100, 1, user=BOB, post_only=True)
    assert summary(events) == [("accepted", 2), ("cancelled", 2, CancelReason.POST_ONLY_WOULD_CROSS, 1)]
    assert asks_of(book) == [(100, 2)]
    book.check_invariants()


def test_it_rests_a_post_only_order_that_does_not_cross(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = limit(book, 2, BUY, 99, 1, user=BOB, post_only=True)
    assert summary(events) == [("accepted", 2), ("depth", BUY, 99, 1)]
    assert book.open_orders[2].post_only
    book.check_invariants()


# ------------------------------------------------------------- market orders


def test_it_fills_a_market_order_across_levels(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 105, 2)
    events = market(book, 3, BUY, qty=3, user=BOB)
    assert summary(events)[-1] == ("filled", 3)
    assert [s[3] for s in summary(events) if s[0] == "trade"] == [100, 105]
    assert asks_of(book) == [(105, 1)]
    book.check_invariants()


def test_it_cancels_the_rest_of_a_market_order_when_the_book_runs_dry(book: Book) -> None:
    limit(book, 1, BUY, 100, 2)
    events = market(book, 2, SELL, qty=5, user=BOB)
    cancelled = view(events[-1])
    assert isinstance(cancelled, Cancelled)
    assert (cancelled.reason, cancelled.remaining_lots, cancelled.price_ticks) == (
        CancelReason.MARKET_REMAINDER,
        3,
        None,
    )
    book.check_invariants()


def test_it_runs_a_gtc_market_order_as_ioc_and_never_rests_it(book: Book) -> None:
    # The API's time in force defaults to GTC for every order type (ADR 0002: market orders).
    limit(book, 1, SELL, 100, 2, user=BOB)
    events = market(book, 2, BUY, qty=5, tif=GTC)
    assert summary(events)[0] == ("accepted", 2)
    assert summary(events)[-1] == ("cancelled", 2, CancelReason.MARKET_REMAINDER, 3)
    assert list(book.open_orders) == []
    book.check_invariants()


def test_it_accepts_the_id_of_an_order_that_is_done(book: Book) -> None:
    # Ids are the pipeline's to keep unique (ADR 0002): the book knows only resting ones.
    limit(book, 1, SELL, 100, 2, user=BOB)
    assert summary(book.cancel(1, BOB))[0] == ("cancelled", 1, CancelReason.USER, 2)
    assert summary(limit(book, 1, SELL, 101, 1, user=CAROL)) == [("accepted", 1), ("depth", SELL, 101, 1)]
    assert summary(limit(book, 1, BUY, 99, 1)) == [("rejected", 1, RejectReason.DUPLICATE_ORDER_ID)]
    book.check_invariants()


def test_it_rejects_a_market_order_when_the_other_side_is_empty(book: Book) -> None:
    limit(book, 1, BUY, 100, 2)
    events = market(book, 2, BUY, qty=1, user=BOB)
    assert summary(events) == [("rejected", 2, RejectReason.NO_LIQUIDITY)]
    book.check_invariants()


def test_it_spends_a_quote_amount_and_reports_what_is_left(book: Book) -> None:
    limit(book, 1, SELL, 100, 3)
    limit(book, 2, SELL, 120, 5)
    events = market(book, 3, BUY, quote=550, user=BOB)
    # 3 lots at 100 (300), then 2 lots at 120 (240): 10 left buys nothing more.
    assert [s[4] for s in summary(events) if s[0] == "trade"] == [3, 2]
    filled = view(events[-1])
    assert isinstance(filled, Filled) and filled.quote_remaining == 10
    assert asks_of(book) == [(120, 3)]
    book.check_invariants()


def test_it_cancels_a_quote_market_buy_with_its_unspent_quote_when_asks_run_out(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = market(book, 2, BUY, quote=1_000, user=BOB)
    cancelled = view(events[-1])
    assert isinstance(cancelled, Cancelled)
    assert (cancelled.reason, cancelled.remaining_lots, cancelled.quote_remaining) == (
        CancelReason.MARKET_REMAINDER,
        0,
        800,
    )
    book.check_invariants()


def test_it_rejects_a_quote_amount_that_buys_less_than_one_lot(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = market(book, 2, BUY, quote=99, user=BOB)
    assert summary(events) == [("rejected", 2, RejectReason.QUOTE_TOO_SMALL)]
    book.check_invariants()


def test_it_cancels_a_market_buy_by_quantity_when_the_asks_run_dry(book: Book) -> None:
    limit(book, 1, SELL, 100, 1)
    events = market(book, 2, BUY, qty=4, user=BOB, spend=10_000)
    assert summary(events)[1:] == [
        ("trade", 1, 2, 100, 1, 0),
        ("filled", 1),
        ("depth", SELL, 100, 0),
        ("cancelled", 2, CancelReason.MARKET_REMAINDER, 3),
    ]
    book.check_invariants()


def test_it_stops_a_market_buy_by_quantity_at_its_spend_cap_and_keeps_its_size(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 105, 2)
    # 310 pays for 2 lots at 100 and 1 at 105 (305); the fourth lot would pass the cap.
    events = market(book, 3, BUY, qty=4, user=BOB, spend=310)
    assert summary(events)[1:] == [
        ("trade", 1, 3, 100, 2, 0),
        ("filled", 1),
        ("depth", SELL, 100, 0),
        ("trade", 2, 3, 105, 1, 1),
        ("depth", SELL, 105, 1),
        ("cancelled", 3, CancelReason.INSUFFICIENT_FUNDS, 1),
    ]
    book.check_invariants()


def test_it_fills_a_market_buy_by_quantity_that_its_spend_cap_pays_for(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 105, 2)
    events = market(book, 3, BUY, qty=3, user=BOB, spend=305)
    assert summary(events)[-1] == ("filled", 3)
    assert asks_of(book) == [(105, 1)]
    book.check_invariants()


def test_it_rejects_a_market_buy_whose_spend_cap_buys_no_lot(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    events = market(book, 2, BUY, qty=1, user=BOB, spend=99)
    assert summary(events) == [("rejected", 2, RejectReason.INSUFFICIENT_FUNDS)]
    book.check_invariants()


def test_it_kills_a_fok_market_buy_its_spend_cap_cannot_pay_for(book: Book) -> None:
    limit(book, 1, SELL, 100, 2)
    limit(book, 2, SELL, 105, 2)
    events = market(book, 3, BUY, qty=3, user=BOB, tif=FOK, spend=304)
    assert summary(events)[1:] == [("cancelled", 3, CancelReason.INSUFFICIENT_FUNDS, 3)]
    events = market(book, 4, BUY, qty=5, user=BOB, tif=FOK, spend=10_000)
    assert summary(events)[1:] == [("cancelled", 4, CancelReason.FOK_UNFILLABLE, 5)]
    events = market(book, 5, BUY, qty=3, user=BOB, tif=FOK, spend=305)
    assert summary(events)[-1] == ("filled", 5)
    book.check_invariants()


def test_it_never_calls_a_quote_market_buy_that_bought_nothing_filled(book: Book) -> None:
    # Self-trade prevention takes the user's own ask away; what is left is too dear for 150.
    limit(book, 1, SELL, 100, 5, user=BOB)
    limit(book, 2, SELL, 200, 5, user=ALICE)
    events = market(book, 3, BUY, quote=150, user=BOB, stp=OLDEST)
    assert summary(events)[1:] == [
        ("cancelled", 1, CancelReason.SELF_TRADE, 5),
        ("depth", SELL, 100, 0),
        ("cancelled", 3, CancelReason.MARKET_REMAINDER, 0),
    ]
    cancelled = view(events[-1])
    assert isinstance(cancelled, Cancelled) and cancelled.quote_remaining == 150
    book.check_invariants()


# ------------------------------------------------------ self-trade prevention


def test_it_cancels_the_taker_at_its_own_order_under_cancel_newest(book: Book) -> None:
    limit(book, 1, SELL, 100, 1, user=BOB)
    limit(book, 2, SELL, 100, 1, user=ALICE)
    events = limit(book, 3, BUY, 100, 5, user=ALICE, stp=NEWEST)
    assert summary(events)[1:] == [
        ("trade", 1, 3, 100, 1, 0),
        ("filled", 1),
        ("depth", SELL, 100, 1),
        ("cancelled", 3, CancelReason.SELF_TRADE, 4),
    ]
    assert 2 in book.open_orders
    book.check_invariants()


def test_it_cancels_resting_self_orders_and_keeps_matching_under_cancel_oldest(book: Book) -> None:
    limit(book, 1, SELL, 100, 1, user=ALICE)
    limit(book, 2, SELL, 101, 1, user=BOB)
    events = limit(book, 3, BUY, 101, 1, user=ALICE, stp=OLDEST)
    assert summary(events)[1:] == [
        ("cancelled", 1, CancelReason.SELF_TRADE, 1),
        ("depth", SELL, 100, 0),
        ("trade", 2, 3, 101, 1, 0),
        ("filled", 2),
        ("depth", SELL, 101, 0),
        ("filled", 3),
    ]
    book.check_invariants()


def test_it_cancels_both_orders_under_cancel_both(book: Book) -> None:
    limit(book, 1, SELL, 100, 3, user=ALICE)
    events = limit(book, 2, BUY, 100, 2, user=ALICE, stp=BOTH)
    assert summary(events)[1:] == [
        ("cancelled", 1, CancelReason.SELF_TRADE, 3),
        ("depth", SELL, 100, 0),
        ("cancelled", 2, CancelReason.SELF_TRADE, 2),
    ]
    assert not book.open_orders
    book.check_invariants()


def test_it_lets_a_user_trade_with_itself_under_allow(book: Book) -> None:
    limit(book, 1, SELL, 100, 3, user=ALICE)
    events = limit(book, 2, BUY, 100, 2, user=ALICE, stp=ALLOW)
    assert summary(events)[1] == ("trade", 1, 2, 100, 2, 1)
    book.check_invariants()


# ------------------------------------------------------------ 64-bit bounds


def test_it_keeps_a_level_total_within_64_bits(book: Book) -> None:
    limit(book, 1, SELL, 1, MAX_VALUE)
    events = limit(book, 2, SELL, 1, MAX_VALUE, user=BOB)
    assert summary(events) == [("rejected", 2, RejectReason.BOOK_TOTAL_TOO_LARGE)]
    assert asks_of(book) == [(1, MAX_VALUE)]
    book.check_invariants()


def test_it_keeps_a_side_notional_within_64_bits(book: Book) -> None:
    limit(book, 1, BUY, 2, MAX_VALUE // 2)
    events = limit(book, 2, BUY, 1, 2, user=BOB)
    assert summary(events) == [("rejected", 2, RejectReason.BOOK_TOTAL_TOO_LARGE)]
    # An order that cannot rest is not bounded by the book it would rest on.
    assert summary(limit(book, 3, BUY, 1, 2, user=BOB, tif=IOC))[-1][:3] == (
        "cancelled",
        3,
        CancelReason.IOC_REMAINDER,
    )
    book.check_invariants()


def test_it_frees_room_in_a_side_as_orders_leave_it(book: Book) -> None:
    limit(book, 1, SELL, 1, MAX_VALUE - 5)
    market(book, 2, BUY, qty=10, user=BOB)
    assert summary(limit(book, 3, SELL, 1, 10))[-1] == ("depth", SELL, 1, MAX_VALUE - 5)
    book.cancel(1, ALICE)
    assert summary(limit(book, 4, SELL, 2, MAX_VALUE // 2 - 5))[-1] == ("depth", SELL, 2, MAX_VALUE // 2 - 5)
    book.check_invariants()


def test_it_rejects_an_amend_past_64_bits(book: Book) -> None:
    limit(book, 1, SELL, 1, MAX_VALUE - 10)
    limit(book, 2, SELL, 5, 1, user=BOB)
    events = book.amend(2, BOB, 20, None, ts=3)
    assert summary(events) == [("rejected", 2, RejectReason.BOOK_TOTAL_TOO_LARGE)]
    events = book.amend(2, BOB, 2, MAX_VALUE // 2 + 1, ts=4)
    assert summary(events) == [("rejected", 2, RejectReason.NOTIONAL_TOO_LARGE)]
    assert summary(book.amend(2, BOB, 2, 1, ts=5))[-1] == ("depth", SELL, 1, MAX_VALUE - 8)
    book.check_invariants()


# --------------------------------------------------------------- cancelling


def test_it_cancels_a_resting_order_and_drops_its_emptied_level(book: Book) -> None:
    limit(book, 1, BUY, 100, 2)
    limit(book, 2, BUY, 99, 2)
    events = book.cancel(1, ALICE, ts=9)
    assert summary(events) == [("cancelled", 1, CancelReason.USER, 2), ("depth", BUY, 100, 0)]
    assert book.best_bid() == 99
    book.check_invariants()


def test_it_keeps_fifo_order_after_cancels_in_the_middle_of_a_level(book: Book) -> None:
    for order_id in range(1, 101):
        limit(book, order_id, SELL, 100, 1, user=BOB)
    for order_id in range(2, 100):
        if order_id % 3:
            book.cancel(order_id, BOB)
    events = limit(book, 1_000, BUY, 100, 4, user=ALICE)
    assert [s[1] for s in summary(events) if s[0] == "trade"] == [1, 3, 6, 9]
    book.check_invariants()


def test_it_rejects_cancelling_another_users_order(book: Book) -> None:
    limit(book, 1, BUY, 100, 2, user=ALICE)
    events = book.cancel(1, BOB)
    assert summary(events) == [("rejected", 1, RejectReason.NOT_OWNER)]
    assert 1 in book.open_orders
    book.check_invariants()


def test_it_cancels_all_orders_of_one_user_oldest_first(book: Book) -> None:
    limit(book, 1, BUY, 99, 1, user=ALICE)
    limit(book, 2, SELL, 101, 1, user=BOB)
    limit(book, 3, SELL, 102, 1, user=ALICE)
    limit(book, 4, BUY, 100, 1, user=ALICE)
    events = book.cancel_all(ALICE)
    assert [s[1] for s in summary(events) if s[0] == "cancelled"] == [1, 3, 4]
    assert list(book.open_orders) == [2]
    assert book.cancel_all(CAROL) == []
    book.check_invariants()


def test_it_cancels_all_of_a_user_whose_orders_were_filled_amended_and_cancelled(book: Book) -> None:
    limit(book, 1, SELL, 100, 1, user=ALICE)
    limit(book, 2, SELL, 101, 1, user=ALICE)
    limit(book, 3, SELL, 102, 1, user=ALICE)
    limit(book, 4, SELL, 103, 2, user=ALICE)
    limit(book, 5, BUY, 100, 1, user=BOB)  # fills order 1
    book.cancel(2, ALICE)
    book.amend(4, ALICE, new_qty_lots=3)  # to the back of its level: a new record
    book.amend(3, ALICE, new_price_ticks=104)
    events = book.cancel_all(ALICE)
    assert [s[1] for s in summary(events) if s[0] == "cancelled"] == [4, 3]
    assert book.cancel_all(ALICE) == []
    assert not book.open_orders
    book.check_invariants()


# ------------------------------------------------------------------ amending


def test_it_keeps_priority_when_an_amend_reduces_quantity(book: Book) -> None:
    limit(book, 1, SELL, 100, 5, user=ALICE)
    limit(book, 2, SELL, 100, 5, user=BOB)
    events = book.amend(1, ALICE, new_qty_lots=2)
    assert summary(events) == [("amended", 1, 100, 2, True), ("depth", SELL, 100, 7)]
    assert summary(limit(book, 3, BUY, 100, 1, user=CAROL))[1][1] == 1
    book.check_invariants()


def test_it_loses_priority_when_an_amend_increases_quantity(book: Book) -> None:
    limit(book, 1, SELL, 100, 5, user=ALICE)
    limit(book, 2, SELL, 100, 5, user=BOB)
    events = book.amend(1, ALICE, new_qty_lots=6)
    assert summary(events) == [("amended", 1, 100, 6, False), ("depth", SELL, 100, 11)]
    assert summary(limit(book, 3, BUY, 100, 1, user=CAROL))[1][1] == 2
    book.check_invariants()


def test_it_loses_priority_when_an_amend_changes_price(book: Book) -> None:
    limit(book, 1, SELL, 101, 5, user=ALICE)
    limit(book, 2, SELL, 100, 5, user=BOB)
    events = book.amend(1, ALICE, new_price_ticks=100)
    assert summary(events) == [
        ("amended", 1, 100, 5, False),
        ("depth", SELL, 101, 0),
        ("depth", SELL, 100, 10),
    ]
    assert summary(limit(book, 3, BUY, 100, 1, user=CAROL))[1][1] == 2
    book.check_invariants()


def test_it_counts_filled_size_in_an_amended_quantity(book: Book) -> None:
    limit(book, 1, SELL, 100, 5, user=ALICE)
    limit(book, 2, BUY, 100, 3, user=BOB)
    events = book.amend(1, ALICE, new_qty_lots=4)
    assert summary(events) == [("amended", 1, 100, 1, True), ("depth", SELL, 100, 1)]
    rejected = book.amend(1, ALICE, new_qty_lots=3)
    assert summary(rejected) == [("rejected", 1, RejectReason.INVALID_AMEND)]
    book.check_invariants()


def test_it_trades_an_amended_order_whose_new_price_crosses(book: Book) -> None:
    limit(book, 1, SELL, 100, 2, user=BOB)
    limit(book, 2, BUY, 98, 5, user=ALICE)
    events = book.amend(2, ALICE, new_price_ticks=100)
    assert summary(events) == [
        ("amended", 2, 100, 5, False),
        ("depth", BUY, 98, 0),
        ("trade", 1, 2, 100, 2, 0),
        ("filled", 1),
        ("depth", SELL, 100, 0),
        ("depth", BUY, 100, 3),
    ]
    book.check_invariants()


def test_it_rejects_an_amend_that_would_make_a_post_only_order_cross(book: Book) -> None:
    limit(book, 1, SELL, 100, 2, user=BOB)
    limit(book, 2, BUY, 98, 5, user=ALICE, post_only=True)
    events = book.amend(2, ALICE, new_price_ticks=100)
    assert summary(events) == [("rejected", 2, RejectReason.POST_ONLY_WOULD_CROSS)]
    assert book.open_orders[2].price_ticks == 98
    book.check_invariants()


# ------------------------------------------------------------ ids and queries


def test_it_numbers_trades_from_the_market_id_and_a_per_book_sequence(book: Book) -> None:
    limit(book, 1, SELL, 100, 3, user=BOB)
    trades = [view(e) for n in (2, 3) for e in limit(book, n, BUY, 100, 1)]
    ids = [trade.trade_id for trade in trades if isinstance(trade, Trade)]
    assert ids == [(MARKET_ID << 40) | 1, (MARKET_ID << 40) | 2]
    book.check_invariants()


def test_it_accepts_an_order_id_again_once_the_first_order_is_done(book: Book) -> None:
    limit(book, 1, SELL, 100, 1, user=BOB)
    assert summary(limit(book, 1, SELL, 100, 1, user=BOB)) == [
        ("rejected", 1, RejectReason.DUPLICATE_ORDER_ID)
    ]
    book.cancel(1, BOB)
    assert summary(limit(book, 1, SELL, 100, 1, user=BOB))[0] == ("accepted", 1)
    book.check_invariants()


def test_it_reports_top_n_depth_best_first(book: Book) -> None:
    for order_id, (side, price) in enumerate([(BUY, 98), (BUY, 99), (BUY, 97), (SELL, 103), (SELL, 101)], 1):
        limit(book, order_id, side, price, order_id)
    limit(book, 6, BUY, 99, 4)
    assert book.depth(2) == ([(99, 6), (98, 1)], [(101, 5), (103, 4)])
    assert (book.best_bid(), book.best_ask()) == (99, 101)
    book.check_invariants()


def test_it_gives_the_same_events_for_the_same_commands(book: Book) -> None:
    def script(target: Book) -> list[Event]:
        events = limit(target, 1, SELL, 100, 3, user=BOB)
        events += limit(target, 2, BUY, 101, 5, user=ALICE)
        events += target.amend(2, ALICE, new_qty_lots=4)
        events += market(target, 3, SELL, qty=1, user=CAROL)
        return events

    twin = same_kind(book)
    assert script(book) == script(twin)
    assert book.state_hash() == twin.state_hash()
    book.check_invariants()


def test_it_hashes_equal_books_equal_however_they_were_built(book: Book) -> None:
    limit(book, 1, SELL, 100, 3, user=BOB)
    limit(book, 2, SELL, 100, 9, user=CAROL)
    book.cancel(2, CAROL)
    direct = same_kind(book)
    limit(direct, 1, SELL, 100, 3, user=BOB)
    assert book.state_hash() == direct.state_hash()
    book.amend(1, BOB, new_qty_lots=2)
    assert book.state_hash() != direct.state_hash()
    book.check_invariants()
