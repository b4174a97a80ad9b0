"""Events the engine emits: the whole of its output.

An event is a plain tuple whose first item is its :class:`EventKind`; the
classes below name the items of each kind, in order, and serve as typed views
(``view(event)``; a view compares equal to the tuple it was made from).
Plain tuples because one costs a third of a NamedTuple and a quarter of a
slotted object to build; with about three events per command that made the
engine a third faster on a realistic flow (benchmarks/engine/README.md). A
consumer dispatches on ``event[0]`` (an enum member: ``is`` works) and may
serialise an event as it is (JSON gives a list of ints, booleans and nulls).

Each event carries everything settlement, persistence and market data need,
so no consumer has to look anything up in the book. Units: prices in ticks,
sizes in lots, quote amounts in ``tick * lot`` units (the notional of one lot
at one tick), timestamps as given by the command.

Order of events within one command:

* place: ``Accepted`` (or a single ``Rejected``), then per maker touched
  ``Trade`` and, if the maker is done, its ``Filled``; a maker removed by
  self-trade prevention gives ``Cancelled(SELF_TRADE)``; a ``Depth`` for each
  level whose total changed, when the taker leaves that level; finally the
  taker's own ``Filled`` / ``Cancelled``, or a ``Depth`` for the level it rests on.
  A limit order that rests at once, without trading, gives its ``Accepted``
  alone, carrying its level's new total (``Accepted.rested_lots``): the most
  common command gives one event, not two (ADR 0012).
* cancel: ``Cancelled(USER)``, ``Depth``.  cancel_all: that pair per order,
  oldest order first; no events when the user has no resting order.
* amend: ``Amended``, ``Depth`` of the old level, then (price changed) what a
  place of the same order would give after ``Accepted``.
* place_stop: ``StopAccepted`` (or a single ``Rejected``); the order waits off
  the book. place_limit (iceberg / good-till-date): as place.
* after any command that traded: per stop order its trigger reached, oldest
  stop first, ``Triggered`` and then what a place of that order gives. A stop
  order is cancelled like a resting one (``Cancelled(USER)``, no ``Depth``).
* an iceberg maker whose visible part traded away and whose reserve is not
  empty gives ``Refreshed`` where a plain maker would give ``Filled``.
* expire: ``Cancelled(EXPIRED)``, ``Depth`` per good-till-date order due,
  earliest expire time first (then order id).
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias

from matching.types import (
    CancelReason,
    CommandKind,
    EventKind,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)


class Accepted(NamedTuple):
    """A place command passed validation; the order now takes part in matching.

    Exactly one of ``qty_lots`` / ``quote_lots`` is set (``quote_lots`` only for a
    market buy by quote amount); ``price_ticks`` is None for market orders.
    ``rested_lots`` is set when the order rested at once, without trading: the
    total resting at ``price_ticks`` on its side now (what a ``Depth`` would say;
    none follows). None otherwise: an order that rests after trading gets its
    level's ``Depth`` as the last event of the command.
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price_ticks: int | None
    qty_lots: int | None
    quote_lots: int | None
    post_only: bool
    stp: SelfTradePrevention
    ts: int
    rested_lots: int | None


class Rejected(NamedTuple):
    """A command was refused; the book is exactly as before it.

    ``command`` tells a refused place (release its hold) from a refused
    cancel or amend (nothing to undo).
    """

    kind: EventKind
    market_id: int
    command: CommandKind
    order_id: int
    user_id: int
    reason: RejectReason
    ts: int


class Trade(NamedTuple):
    """One fill between a resting maker and the incoming taker, at the maker's price.

    ``trade_id = (market_id << 40) | sequence``; ``maker_remaining_lots`` is what
    is left of the maker after this fill, an iceberg's reserve included
    (0 = the maker is filled).
    """

    kind: EventKind
    market_id: int
    trade_id: int
    maker_order_id: int
    maker_user_id: int
    taker_order_id: int
    taker_user_id: int
    taker_side: Side
    price_ticks: int
    qty_lots: int
    maker_remaining_lots: int
    ts: int


class Cancelled(NamedTuple):
    """An order left the book (or ended as taker) with size unfilled; ``reason`` says why.

    ``price_ticks`` is None for market orders. For a market buy by quote amount
    ``remaining_lots`` is 0 and ``quote_remaining`` is the unspent quote amount;
    for every other order ``quote_remaining`` is None.
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    price_ticks: int | None
    remaining_lots: int
    quote_remaining: int | None
    reason: CancelReason
    ts: int


class Filled(NamedTuple):
    """An order is done because its size is used up: never with size left over.

    A market buy by quote amount is filled when it bought at least one lot and
    what is left of its quote buys less than one lot at the best remaining ask;
    ``quote_remaining`` is that unspent amount (often 0). None for every other order.
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    quote_remaining: int | None
    ts: int


class Amended(NamedTuple):
    """A resting order changed size and/or price.

    ``qty_lots`` is the new total size (filled + remaining), ``remaining_lots``
    the new open size. ``priority_kept`` is False when the order moved to the
    back of its (new) level; a price change may then trade at once, with the
    events a place would give.
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    price_ticks: int
    qty_lots: int
    remaining_lots: int
    prev_price_ticks: int
    prev_remaining_lots: int
    priority_kept: bool
    ts: int


class StopAccepted(NamedTuple):
    """A stop order passed validation and waits, off the book, for its trigger price.

    A buy stop triggers when the last trade price is at or above ``stop_ticks``,
    a sell stop when it is at or below; the order then enters as the limit or
    market order described here (``Triggered``, then the events of that place).
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price_ticks: int | None
    qty_lots: int | None
    quote_lots: int | None
    stop_ticks: int
    stp: SelfTradePrevention
    ts: int


class Triggered(NamedTuple):
    """A stop order's trigger was reached by ``last_price_ticks``; its place events follow."""

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    stop_ticks: int
    last_price_ticks: int
    ts: int


class Refreshed(NamedTuple):
    """An iceberg's visible part traded away; ``visible_lots`` more now rest at the back of its level.

    ``hidden_lots`` is the reserve left after this refresh.
    """

    kind: EventKind
    market_id: int
    order_id: int
    user_id: int
    side: Side
    price_ticks: int
    visible_lots: int
    hidden_lots: int
    ts: int


class Depth(NamedTuple):
    """The total resting size at one price level changed; 0 = the level is gone."""

    kind: EventKind
    market_id: int
    side: Side
    price_ticks: int
    total_lots: int
    ts: int


Event: TypeAlias = tuple[Any, ...]
"""What the books return: a plain tuple laid out as one of the views above."""

EventView: TypeAlias = (
    Accepted | Rejected | Trade | Cancelled | Filled | Amended | Depth | StopAccepted | Triggered | Refreshed
)

_VIEWS: dict[int, type[EventView]] = {
    EventKind.ACCEPTED: Accepted,
    EventKind.REJECTED: Rejected,
    EventKind.TRADE: Trade,
    EventKind.CANCELLED: Cancelled,
    EventKind.FILLED: Filled,
    EventKind.AMENDED: Amended,
    EventKind.DEPTH: Depth,
    EventKind.STOP_ACCEPTED: StopAccepted,
    EventKind.TRIGGERED: Triggered,
    EventKind.REFRESHED: Refreshed,
}


def view(event: Event) -> EventView:
    """The named, typed view of an event tuple."""
    return _VIEWS[event[0]]._make(event)
