"""Commands as values, the contract every book implements, and one dispatcher.

A worker that decodes commands from a stream, a replay after recovery and the
property tests all drive a book through :func:`apply`, so they cannot drift
apart. Calling the book's methods directly is equivalent and a little cheaper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Protocol

from matching.events import Event
from matching.orders import OpenOrder
from matching.types import OrderType, SelfTradePrevention, Side, TimeInForce


class Place(NamedTuple):
    order_id: int
    user_id: int
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price_ticks: int | None
    qty_lots: int | None
    quote_lots: int | None = None
    post_only: bool = False
    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST
    ts: int = 0
    spend_units: int | None = None  # a market buy by quantity: the most it may pay, in quote units


class PlaceStop(NamedTuple):
    """A stop-limit (order_type LIMIT) or stop-market order (matching.stops)."""

    order_id: int
    user_id: int
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price_ticks: int | None
    qty_lots: int | None
    stop_ticks: int
    quote_lots: int | None = None
    post_only: bool = False
    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST
    ts: int = 0


class PlaceLimit(NamedTuple):
    """A GTC limit that may be an iceberg and/or good till a time (matching.iceberg, matching.expiry)."""

    order_id: int
    user_id: int
    side: Side
    price_ticks: int
    qty_lots: int
    display_lots: int | None = None
    expire_ts: int | None = None
    post_only: bool = False
    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_NEWEST
    ts: int = 0


class Expire(NamedTuple):
    """The time is now ``ts``: good-till-date orders due by then leave the book."""

    ts: int


class Cancel(NamedTuple):
    order_id: int
    user_id: int
    ts: int = 0


class Amend(NamedTuple):
    order_id: int
    user_id: int
    new_qty_lots: int | None = None
    new_price_ticks: int | None = None
    ts: int = 0


class CancelAll(NamedTuple):
    user_id: int
    ts: int = 0


Command = Place | Cancel | Amend | CancelAll | PlaceStop | PlaceLimit | Expire


class Book(Protocol):
    """What the fast book and the reference book both offer."""

    market_id: int

    @property
    def open_orders(self) -> Mapping[int, OpenOrder]: ...

    def place(
        self,
        order_id: int,
        user_id: int,
        side: int,
        order_type: int,
        tif: int,
        price_ticks: int | None,
        qty_lots: int | None,
        quote_lots: int | None = None,
        post_only: bool = False,
        stp: int = SelfTradePrevention.CANCEL_NEWEST,
        ts: int = 0,
        spend_units: int | None = None,
    ) -> list[Event]: ...

    def cancel(self, order_id: int, user_id: int, ts: int = 0) -> list[Event]: ...

    def cancel_all(self, user_id: int, ts: int = 0) -> list[Event]: ...

    def amend(
        self,
        order_id: int,
        user_id: int,
        new_qty_lots: int | None = None,
        new_price_ticks: int | None = None,
        ts: int = 0,
    ) -> list[Event]: ...

    def place_stop(
        self,
        order_id: int,
        user_id: int,
        side: int,
        order_type: int,
        tif: int,
        price_ticks: int | None,
        qty_lots: int | None,
        stop_ticks: int,
        quote_lots: int | None = None,
        post_only: bool = False,
        stp: int = SelfTradePrevention.CANCEL_NEWEST,
        ts: int = 0,
    ) -> list[Event]: ...

    def place_limit(
        self,
        order_id: int,
        user_id: int,
        side: int,
        price_ticks: int,
        qty_lots: int,
        display_lots: int | None = None,
        expire_ts: int | None = None,
        post_only: bool = False,
        stp: int = SelfTradePrevention.CANCEL_NEWEST,
        ts: int = 0,
    ) -> list[Event]: ...

    def expire(self, ts: int) -> list[Event]: ...

    def next_expiry(self) -> int | None: ...

    def best_bid(self) -> int | None: ...

    def best_ask(self) -> int | None: ...

    def depth(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]: ...

    def state_hash(self) -> str: ...

    def check_invariants(self) -> None: ...


def apply(book: Book, command: Command) -> list[Event]:
    """Run one command against ``book`` and return its events."""
    if isinstance(command, Place):
        return book.place(*command)
    if isinstance(command, Cancel):
        return book.cancel(*command)
    if isinstance(command, Amend):
        return book.amend(*command)
    if isinstance(command, CancelAll):
        return book.cancel_all(*command)
    if isinstance(command, PlaceStop):
        return book.place_stop(*command)
    if isinstance(command, PlaceLimit):
        return book.place_limit(*command)
    return book.expire(*command)
