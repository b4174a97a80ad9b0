"""Stop, iceberg and good-till-date orders: rules by example, then the fast book against the reference."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    CancelReason,
    EventKind,
    OrderBook,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from matching.commands import Amend, Cancel, CancelAll, Command, Expire, Place, PlaceLimit, PlaceStop, apply
from matching.reference import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
ALICE, BOB, CAROL = 1, 2, 3


@pytest.fixture(params=[OrderBook, ReferenceBook])
def book(request: pytest.FixtureRequest) -> OrderBook:
    made: OrderBook = request.param(7)
    return made


def kinds(events: list[tuple[Any, ...]]) -> list[EventKind]:
    return [EventKind(e[0]) for e in events]


def trade_at(book: OrderBook, price: int, oid: int) -> None:
    book.place(oid, ALICE, SELL, LIMIT, GTC, price, 1)
    book.place(oid + 1, BOB, BUY, LIMIT, GTC, price, 1)


def test_a_buy_stop_waits_then_enters_as_a_limit_when_the_price_reaches_it(book: OrderBook) -> None:
    trade_at(book, 100, 1)
    [accepted] = book.place_stop(10, CAROL, BUY, LIMIT, GTC, 106, 2, 105)
    assert accepted[0] is EventKind.STOP_ACCEPTED and book.depth(5) == ([], [])
    book.place(20, ALICE, SELL, LIMIT, GTC, 105, 1)
    events = book.place(21, BOB, BUY, LIMIT, GTC, 105, 1)
    triggered = events.index(next(e for e in events if e[0] == EventKind.TRIGGERED))
    # It rests at once, without trading: its Accepted carries its level's total, no Depth follows.
    assert kinds(events[triggered:]) == [EventKind.TRIGGERED, EventKind.ACCEPTED]
    assert events[-1][-1] == 2
    assert book.depth(5) == ([(106, 2)], [])
    book.check_invariants()


def test_a_sell_stop_market_sells_into_the_bids_when_the_price_falls_to_it(book: OrderBook) -> None:
    trade_at(book, 100, 1)
    book.place_stop(10, CAROL, SELL, MARKET, GTC, None, 3, 95)
    book.place(20, BOB, BUY, LIMIT, GTC, 94, 5)
    events = book.place(21, ALICE, SELL, LIMIT, GTC, 94, 1)
    assert [e[3] for e in events if e[0] == EventKind.TRADE] == [20, 20]
    assert book.depth(5) == ([(94, 1)], [])


def test_a_stop_the_last_price_already_meets_is_refused(book: OrderBook) -> None:
    trade_at(book, 100, 1)
    [rejected] = book.place_stop(10, CAROL, BUY, MARKET, GTC, None, 1, 100)
    assert rejected[5] == RejectReason.STOP_WOULD_TRIGGER


def test_a_stop_is_cancelled_before_it_triggers_and_then_never_triggers(book: OrderBook) -> None:
    book.place_stop(10, CAROL, BUY, LIMIT, GTC, 106, 2, 105)
    assert book.cancel(10, BOB)[0][5] == RejectReason.NOT_OWNER
    [cancelled] = book.cancel(10, CAROL)
    assert cancelled[0] is EventKind.CANCELLED and cancelled[6] == 2 and cancelled[8] is CancelReason.USER
    trade_at(book, 110, 1)
    assert book.depth(5) == ([], [])


def test_an_iceberg_shows_its_display_size_and_refills_at_the_back(book: OrderBook) -> None:
    book.place_limit(1, ALICE, SELL, 100, 10, display_lots=3)
    book.place(2, BOB, SELL, LIMIT, GTC, 100, 2)
    assert book.depth(5) == ([], [(100, 5)])
    events = book.place(3, CAROL, BUY, LIMIT, GTC, 100, 4)
    trades = [(e[3], e[9], e[10]) for e in events if e[0] == EventKind.TRADE]
    # Its 3 visible lots, then Bob's order which was behind them, not the refilled part.
    assert trades == [(1, 3, 7), (2, 1, 1)]
    assert [e[6:8] for e in events if e[0] == EventKind.REFRESHED] == [(3, 4)]
    assert book.depth(5) == ([], [(100, 4)])
    [cancelled, _] = book.cancel(1, ALICE)
    assert cancelled[6] == 7  # visible and reserve
    book.check_invariants()


def test_a_good_till_date_order_expires_at_its_time_and_not_before(book: OrderBook) -> None:
    book.place_limit(1, ALICE, SELL, 100, 5, expire_ts=50, ts=10)
    assert book.next_expiry() == 50
    assert book.expire(49) == []
    events = book.expire(50)
    assert kinds(events) == [EventKind.CANCELLED, EventKind.DEPTH]
    assert events[0][8] == CancelReason.EXPIRED and events[0][6] == 5
    assert book.depth(5) == ([], [])


def test_an_expire_time_not_after_the_command_is_refused(book: OrderBook) -> None:
    [rejected] = book.place_limit(1, ALICE, SELL, 100, 5, expire_ts=10, ts=10)
    assert rejected[5] == RejectReason.INVALID_EXPIRE_TIME


# ------------------------------------------------------------------ properties

PRICES = (97, 103)


def commands() -> st.SearchStrategy[list[tuple[int, ...]]]:
    one = st.tuples(
        st.integers(0, 15),  # kind
        st.integers(0, 1_000),  # selector
        st.integers(1, 3),  # user
        st.integers(0, 1),  # side
        st.integers(*PRICES),  # price
        st.integers(1, 9),  # qty
        st.integers(0, 3),  # flag
        st.integers(0, 3),  # stp
        st.integers(*PRICES),  # stop price
        st.integers(0, 4),  # time step
    )
    return st.lists(one, min_size=5, max_size=120)


def to_command(draw: tuple[int, ...], book: OrderBook, ts: int) -> Command:
    kind, selector, user, side_bit, price, qty, flag, stp_pick, stop, _ = draw
    side = SELL if side_bit else BUY
    stp = SelfTradePrevention(stp_pick + 1)
    fresh = 1_000_000 + ts
    targets = sorted(book.open_orders) + [s.order_id for s in book.stop_orders]
    if kind < 5:
        return Place(fresh, user, side, LIMIT, (GTC, GTC, IOC, FOK)[flag], price, qty, None, False, stp, ts)
    if kind == 5:
        return Place(fresh, user, side, MARKET, GTC, None, qty, None, False, stp, ts)
    if kind in (6, 7):
        order_type = LIMIT if kind == 6 else MARKET
        quote = 400 if order_type is MARKET and side is BUY and flag == 3 else None
        return PlaceStop(
            fresh,
            user,
            side,
            order_type,
            (GTC, GTC, IOC, FOK)[flag] if order_type is LIMIT else GTC,
            price if order_type is LIMIT else None,
            None if quote else qty,
            stop,
            quote,
            False,
            stp,
            ts,
        )
    if kind in (8, 9):
        return PlaceLimit(fresh, user, side, price, qty + 3, 1 + flag, None, False, stp, ts)
    if kind == 10:
        return PlaceLimit(
            fresh, user, side, price, qty, 2 if flag == 3 else None, ts + 1 + selector % 9, False, stp, ts
        )
    if kind == 11:
        return Expire(ts)
    if kind in (12, 13) and targets:
        target = targets[selector % len(targets)]
        owner = book.open_orders[target].user_id if target in book.open_orders else user
        if kind == 12:
            return Cancel(target, owner if flag else owner + 1, ts)
        return Amend(target, owner, qty, None if flag else price, ts)
    if kind == 14:
        return CancelAll(user, ts)
    return Place(fresh, user, side, LIMIT, GTC, price, qty, None, flag == 0, stp, ts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands())
def test_it_emits_the_reference_events_with_stops_icebergs_and_expiries(draws: list[tuple[int, ...]]) -> None:
    fast, reference = OrderBook(7), ReferenceBook(7)
    ts = 0
    for draw in draws:
        ts += 1 + draw[-1]
        command = to_command(draw, fast, ts)
        due = fast.next_expiry()
        if due is not None and due <= ts and not isinstance(command, Expire):
            # What the matching stage does before each command: expire what is due.
            assert apply(fast, Expire(ts)) == apply(reference, Expire(ts))
        events = apply(fast, command)
        assert events == apply(reference, command), f"diverged at {command}"
        fast.check_invariants()
        reference.check_invariants()
        assert fast.depth(5) == reference.depth(5)
        assert fast.last_price == reference.last_price
        assert [s.order_id for s in fast.stop_orders] == sorted(
            (s.order_id for s in reference.stops),
            key=lambda oid: next(s.seq for s in reference.stops if s.order_id == oid),
        )
    assert fast.state_hash() == reference.state_hash()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands(), st.integers(0, 119))
def test_a_book_restored_from_its_snapshot_midway_goes_on_as_the_reference(
    draws: list[tuple[int, ...]], cut: int
) -> None:
    """Stops, reserves, expiries and the last price survive a JSON snapshot: nothing that decides is lost."""
    fast, reference = OrderBook(7), ReferenceBook(7)
    ts = 0
    for index, draw in enumerate(draws):
        if index == cut % len(draws):
            assert fast.state_hash() == reference.state_hash()
            fast = OrderBook.restore(7, json.loads(json.dumps(fast.snapshot())))
            assert fast.state_hash() == reference.state_hash()
        ts += 1 + draw[-1]
        command = to_command(draw, fast, ts)
        if not isinstance(command, Expire):
            assert apply(fast, Expire(ts)) == apply(reference, Expire(ts))
        assert apply(fast, command) == apply(reference, command), f"diverged at {command}"
        fast.check_invariants()
    assert fast.state_hash() == reference.state_hash()
