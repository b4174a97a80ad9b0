"""Long random command sequences: the fast book must behave exactly like the reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    MAX_VALUE,
    Accepted,
    Amended,
    Cancelled,
    Depth,
    Event,
    Filled,
    OrderBook,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
)
from matching.commands import Amend, Cancel, CancelAll, Command, Place, apply
from matching.events import view
from matching.reference import ReferenceBook

MARKET_ID = 7
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# Out-of-range enums and sizes, prices off the grid, contradictions: (side, type, tif, price, qty, quote).
BAD_FIELDS: list[tuple[Any, ...]] = [
    (0, LIMIT, GTC, 100, 1, None),
    (Side.BUY, 3, GTC, 100, 1, None),
    (Side.BUY, LIMIT, 4, 100, 1, None),
    (Side.BUY, LIMIT, GTC, 100.5, 1, None),
    (Side.BUY, LIMIT, GTC, 0, 1, None),
    (Side.SELL, LIMIT, GTC, 100, 0, None),
    (Side.SELL, LIMIT, GTC, 100, -2, None),
    (Side.SELL, LIMIT, GTC, 100, 2.0, None),
    (Side.BUY, LIMIT, GTC, 100, 1, 500),
    (Side.BUY, MARKET, IOC, 100, 1, None),
    (Side.BUY, MARKET, IOC, None, 1, 500),
    (Side.SELL, MARKET, IOC, None, None, 500),
    (Side.BUY, MARKET, FOK, None, None, 500),
]
TIFS = [GTC, GTC, GTC, IOC, FOK]


def commands(prices: tuple[int, int] = (95, 105), users: int = 3) -> st.SearchStrategy[list[Command]]:
    """Every command kind, weighted toward limits near one another so books cross often.

    A few market buys by quantity carry a spend cap, and a few limits are so
    large that two of them fill a side's 64-bit totals, so the bounds are met.

    Each command is drawn as one flat tuple of small ints and mapped to a command:
    cheap to generate and quick to shrink. Order ids are selectors, turned into
    real ids by :func:`resolve` so that most cancels and amends hit a resting
    order and a few places reuse a live id.
    """
    low, high = prices

    def to_command(draw: tuple[int, ...]) -> Command:
        kind, selector, user, side_bit, tif_pick, price, qty, flag, stp_pick, quote = draw
        side = Side.SELL if side_bit else Side.BUY
        stp = SelfTradePrevention(stp_pick + 1)
        if kind < 10:
            return Place(selector, user, side, LIMIT, TIFS[tif_pick], price, qty, None, flag == 0, stp)
        if kind < 14:
            return Cancel(selector, 0 if flag else 1)  # user 0: the owner; 1: someone else
        if kind < 17:
            new_qty, new_price = ((None, price), (qty - 2, None), (qty + 2, None), (qty, price))[flag]
            return Amend(selector, 0 if stp_pick else 1, new_qty, new_price)
        if kind == 17:
            return Place(selector, user, side, MARKET, TIFS[tif_pick], None, qty, None, False, stp)
        if kind == 18:
            return Place(
                selector, user, Side.BUY, MARKET, TIFS[tif_pick % 2 * 3], None, None, quote, False, stp
            )
        if kind == 19:
            return CancelAll(user)
        if kind == 20:
            return Place(
                selector, user, Side.BUY, MARKET, TIFS[tif_pick], None, qty, None, False, stp, 0, quote
            )
        if kind == 21:
            # Half a side's room in lots (price 1) or notional: the third such order is refused.
            huge = MAX_VALUE // (2 * price) - flag if flag < 2 else MAX_VALUE // 2
            return Place(
                selector, user, side, LIMIT, TIFS[tif_pick], price if flag < 2 else 1, huge, None, False, stp
            )
        bad_side, bad_type, bad_tif, bad_price, bad_qty, bad_quote = BAD_FIELDS[selector % len(BAD_FIELDS)]
        return Place(
            selector, user, bad_side, bad_type, bad_tif, bad_price, bad_qty, bad_quote, flag == 0, stp
        )

    one = st.tuples(
        st.integers(0, 21),
        st.integers(0, 1_000),
        st.integers(1, users),
        st.integers(0, 1),
        st.integers(0, len(TIFS) - 1),
        st.integers(low, high),
        st.integers(1, 8),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(50, 3_000),
    ).map(to_command)
    # Drawn in runs of 20 so sequences average ~120 commands (up to 300) while the shrinker
    # can still cut a failure down to a single run.
    runs = st.lists(st.lists(one, min_size=20, max_size=20), min_size=1, max_size=15)
    return runs.map(lambda chunks: [command for chunk in chunks for command in chunk])


FRESH_ID_BASE = 1_000_000


def resolve(command: Command, book: OrderBook, ts: int) -> Command:
    """Turn selectors into real ids and owners, looking only at the book's open orders."""
    open_ids = sorted(book.open_orders)
    if isinstance(command, Place):
        if command.order_id % 10 == 9 and open_ids:
            return command._replace(order_id=open_ids[command.order_id % len(open_ids)], ts=ts)
        return command._replace(order_id=FRESH_ID_BASE + ts, ts=ts)
    if isinstance(command, Cancel | Amend):
        if command.order_id % 10 == 9 or not open_ids:
            return command._replace(order_id=command.order_id, user_id=1, ts=ts)
        order_id = open_ids[command.order_id % len(open_ids)]
        owner = book.open_orders[order_id].user_id
        return command._replace(
            order_id=order_id, user_id=owner if command.user_id == 0 else owner + 1, ts=ts
        )
    return command._replace(ts=ts)


@dataclass
class Ledger:
    """Follows every order's open size through the events alone."""

    open_lots: dict[int, int] = field(default_factory=dict)
    budgets: dict[int, int] = field(default_factory=dict)
    quotes: dict[int, int] = field(default_factory=dict)  # a quote buy's amount when accepted

    def follow(self, events: list[Event], spend: int | None = None) -> None:
        spent = 0
        for event in map(view, events):
            if isinstance(event, Accepted):
                if event.quote_lots is not None:
                    self.budgets[event.order_id] = self.quotes[event.order_id] = event.quote_lots
                else:
                    assert event.qty_lots is not None
                    self.open_lots[event.order_id] = event.qty_lots
            elif isinstance(event, Trade):
                assert event.qty_lots > 0
                maker_before = self.open_lots[event.maker_order_id]
                assert event.maker_remaining_lots == maker_before - event.qty_lots >= 0
                self.open_lots[event.maker_order_id] = event.maker_remaining_lots
                spent += event.qty_lots * event.price_ticks
                if event.taker_order_id in self.budgets:
                    self.budgets[event.taker_order_id] -= event.qty_lots * event.price_ticks
                    assert self.budgets[event.taker_order_id] >= 0
                else:
                    self.open_lots[event.taker_order_id] -= event.qty_lots
                    assert self.open_lots[event.taker_order_id] >= 0
            elif isinstance(event, Amended):
                assert self.open_lots[event.order_id] == event.prev_remaining_lots
                self.open_lots[event.order_id] = event.remaining_lots
            elif isinstance(event, Filled):
                if event.order_id in self.budgets:
                    assert self.budgets.pop(event.order_id) == event.quote_remaining
                    assert event.quote_remaining < self.quotes.pop(event.order_id), "filled without a trade"
                else:
                    assert self.open_lots.pop(event.order_id) == 0
            elif isinstance(event, Cancelled):
                if event.order_id in self.budgets:
                    assert self.budgets.pop(event.order_id) == event.quote_remaining
                    self.quotes.pop(event.order_id)
                else:
                    assert self.open_lots.pop(event.order_id) == event.remaining_lots > 0
            elif isinstance(event, Depth):
                assert 0 <= event.total_lots <= MAX_VALUE
        assert spend is None or spent <= spend, "a market buy paid more than its spend cap"

    def agrees_with(self, book: OrderBook) -> None:
        assert not self.budgets, "a market order outlived its command"
        assert self.open_lots == {
            order_id: order.remaining_lots for order_id, order in book.open_orders.items()
        }


def run_both(sequence: list[Command]) -> None:
    fast, reference = OrderBook(MARKET_ID), ReferenceBook(MARKET_ID)
    ledger = Ledger()
    for ts, selectors in enumerate(sequence, start=1):
        command = resolve(selectors, fast, ts)
        events = apply(fast, command)
        assert events == apply(reference, command), f"diverged at command {ts}: {command}"
        fast.check_invariants()
        reference.check_invariants()
        ledger.follow(events, command.spend_units if isinstance(command, Place) else None)
        ledger.agrees_with(fast)
        assert fast.depth(3) == reference.depth(3)
    assert fast.state_hash() == reference.state_hash()


@PROPERTY_SETTINGS
@given(commands())
def test_it_emits_the_reference_events_for_any_command_sequence(sequence: list[Command]) -> None:
    run_both(sequence)


@PROPERTY_SETTINGS
@given(commands(prices=(99, 101), users=2))
def test_it_matches_the_reference_on_deep_queues_with_many_cancels(
    sequence: list[Command],
) -> None:
    run_both(sequence)


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(commands(), st.data())
def test_it_continues_identically_after_snapshot_and_restore(
    sequence: list[Command], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(sequence)))
    original = OrderBook(MARKET_ID)
    for ts, selectors in enumerate(sequence[:cut], start=1):
        apply(original, resolve(selectors, original, ts))
    restored = OrderBook.restore(MARKET_ID, original.snapshot())
    assert restored.state_hash() == original.state_hash()
    for ts, selectors in enumerate(sequence[cut:], start=cut + 1):
        command = resolve(selectors, original, ts)
        assert apply(restored, command) == apply(original, command)
    restored.check_invariants()
    assert restored.state_hash() == original.state_hash()


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(commands(users=6), st.permutations(range(1, 8)))
def test_it_cancels_all_of_each_user_like_the_reference(sequence: list[Command], users: list[int]) -> None:
    """cancel_all reads an index by user: after any history, each user's cancel_all (user 7 has
    no order) gives the reference's events, and the index follows the book (check_invariants)."""
    fast, reference = OrderBook(MARKET_ID), ReferenceBook(MARKET_ID)
    ts = 0
    for ts, selectors in enumerate(sequence, start=1):
        command = resolve(selectors, fast, ts)
        assert apply(fast, command) == apply(reference, command)
    for user in users:
        ts += 1
        assert fast.cancel_all(user, ts) == reference.cancel_all(user, ts)
        fast.check_invariants()
        assert not any(order.user_id == user for order in fast.open_orders.values())
    assert not fast.open_orders
    assert fast.state_hash() == reference.state_hash()
