"""Stop orders: limit or market orders that wait off the book for a trade price.

A buy stop triggers when the last trade price is at or above its stop price,
a sell stop when it is at or below (docs/adr/0013-stop-gtd-iceberg.md). Only
trades move the last price, so the book asks this module after each command
that traded; a triggered stop enters the book as the limit or market order it
describes, with the time of the command that triggered it. Several stops due
at once enter one at a time, oldest first, and the trigger is judged again
against the last price after each (what one triggered order trades may take
the price back past the others' stops).

Pending stops are kept per side in a ``SortedList`` by (stop price, arrival),
so "is anything due" is a look at one end of each list and a command that
traded pays next to nothing while no stop is near the price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from sortedcontainers import SortedList

from matching.events import Event
from matching.types import (
    MAX_VALUE,
    EventKind,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

if TYPE_CHECKING:
    from matching.commands import Book

_TRADE = EventKind.TRADE
_TRADE_PRICE = 8  # matching.events.Trade.price_ticks


class StopOrder(NamedTuple):
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
    seq: int


def _amount(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_VALUE


def _member(enum: type[Side] | type[TimeInForce] | type[SelfTradePrevention], value: object) -> bool:
    try:
        return value in {int(m) for m in enum}
    except TypeError:
        return False


def stop_error(
    order_id: object,
    user_id: object,
    side: object,
    order_type: object,
    tif: object,
    price_ticks: object,
    qty_lots: object,
    quote_lots: object,
    stop_ticks: object,
    post_only: object,
) -> RejectReason | None:
    """Why a stop order is refused whatever the book holds, checks in a fixed order; None if it is not."""
    if not _amount(order_id):
        return RejectReason.INVALID_ORDER_ID
    if not _amount(user_id):
        return RejectReason.INVALID_USER_ID
    if type(order_type) is not int and not isinstance(order_type, OrderType):
        return RejectReason.INVALID_ORDER_TYPE
    if order_type not in (OrderType.LIMIT, OrderType.MARKET):
        return RejectReason.INVALID_ORDER_TYPE
    if not _member(Side, side):
        return RejectReason.INVALID_SIDE
    if not _member(TimeInForce, tif):
        return RejectReason.INVALID_TIME_IN_FORCE
    if not _amount(stop_ticks):
        return RejectReason.INVALID_STOP_PRICE
    if order_type == OrderType.LIMIT:
        if not _amount(price_ticks):
            return RejectReason.INVALID_PRICE
        if not _amount(qty_lots) or quote_lots is not None:
            return RejectReason.INVALID_QUANTITY
        assert isinstance(price_ticks, int) and isinstance(qty_lots, int)
        if price_ticks * qty_lots > MAX_VALUE:
            return RejectReason.NOTIONAL_TOO_LARGE
    else:
        if price_ticks is not None:
            return RejectReason.INVALID_PRICE
        if quote_lots is None:
            if not _amount(qty_lots):
                return RejectReason.INVALID_QUANTITY
        elif side != Side.BUY or qty_lots is not None or not _amount(quote_lots):
            return RejectReason.INVALID_QUANTITY
        if quote_lots is not None and tif == TimeInForce.FOK:
            return RejectReason.INVALID_TIME_IN_FORCE
    if post_only:
        return RejectReason.INVALID_POST_ONLY
    return None


def would_trigger(side: int, stop_ticks: int, last_price: int | None) -> bool:
    if last_price is None:
        return False
    return last_price >= stop_ticks if side == Side.BUY else last_price <= stop_ticks


def last_trade_price(events: list[Event]) -> int | None:
    for event in reversed(events):
        if event[0] is _TRADE:
            return int(event[_TRADE_PRICE])
    return None


class StopBook:
    """The pending stop orders of one book and the last trade price they watch."""

    __slots__ = ("_buys", "_by_id", "_sells", "busy", "last_price", "seq")

    def __init__(self) -> None:
        self.last_price: int | None = None
        self.seq = 0
        self.busy = False  # triggering: the places it makes must not trigger in turn
        self._by_id: dict[int, StopOrder] = {}
        # Buys by (stop, arrival): due from the front when the price rises to them.
        self._buys: SortedList[tuple[int, int, int]] = SortedList()
        # Sells by (-stop, arrival): due from the front when the price falls to them.
        self._sells: SortedList[tuple[int, int, int]] = SortedList()

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, order_id: int) -> StopOrder | None:
        return self._by_id.get(order_id)

    def add(self, order: StopOrder) -> None:
        self._by_id[order.order_id] = order
        if order.side == Side.BUY:
            self._buys.add((order.stop_ticks, order.seq, order.order_id))
        else:
            self._sells.add((-order.stop_ticks, order.seq, order.order_id))

    def remove(self, order_id: int) -> StopOrder:
        order = self._by_id.pop(order_id)
        if order.side == Side.BUY:
            self._buys.remove((order.stop_ticks, order.seq, order_id))
        else:
            self._sells.remove((-order.stop_ticks, order.seq, order_id))
        return order

    def of_user(self, user_id: int) -> list[StopOrder]:
        """The user's pending stops, oldest first."""
        return sorted((o for o in self._by_id.values() if o.user_id == user_id), key=lambda o: o.seq)

    def pending(self) -> list[StopOrder]:
        return sorted(self._by_id.values(), key=lambda o: o.seq)

    def next_due(self) -> StopOrder | None:
        """The oldest stop the last trade price has reached, if any."""
        last = self.last_price
        if last is None:
            return None
        best: tuple[int, int, int] | None = None
        for entry in self._buys.irange(maximum=(last, MAX_VALUE + 1, 0)):
            if best is None or entry[1] < best[1]:
                best = entry
        for entry in self._sells.irange(maximum=(-last, MAX_VALUE + 1, 0)):
            if best is None or entry[1] < best[1]:
                best = entry
        return None if best is None else self._by_id[best[2]]

    def after(self, book: Book, events: list[Event], ts: int) -> list[Event]:
        """Note the command's last trade price, then enter every stop it reached; returns ``events``."""
        price = last_trade_price(events)
        if price is None:
            return events
        self.last_price = price
        if self.busy or not self._by_id:
            return events
        self.busy = True
        try:
            while (order := self.next_due()) is not None:
                self.remove(order.order_id)
                events.append(
                    (
                        EventKind.TRIGGERED,
                        book.market_id,
                        order.order_id,
                        order.user_id,
                        order.side,
                        order.stop_ticks,
                        self.last_price,
                        ts,
                    )
                )
                placed = book.place(
                    order.order_id,
                    order.user_id,
                    order.side,
                    order.order_type,
                    order.tif,
                    order.price_ticks,
                    order.qty_lots,
                    order.quote_lots,
                    False,
                    order.stp,
                    ts,
                )
                events += placed
                price = last_trade_price(placed)
                if price is not None:
                    self.last_price = price
        finally:
            self.busy = False
        return events
