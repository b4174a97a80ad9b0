"""The fast order book of one market: commands in, events out, no I/O.

Public commands and queries live here; the state, matching loop and helpers
in ``matching.matcher``. Rules of the game: ``matching.events`` and
docs/adr/0002-engine-integers-and-events.md.
"""

from __future__ import annotations

from itertools import product
from operator import attrgetter
from typing import Any

from matching import iceberg, invariants, snapshot, stops
from matching.events import Event
from matching.expiry import Expiries
from matching.matcher import (
    BUY,
    CANCELLED,
    DEPTH,
    GTC,
    SELL,
    TRADE_SEQUENCE_BITS,
    MatchingCore,
)
from matching.orders import OpenOrders, OrderRecord, UserOrders
from matching.price_level import PriceLevel
from matching.snapshot import Extras
from matching.types import (
    MAX_VALUE,
    CancelReason,
    CommandKind,
    EventKind,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_ACCEPTED = EventKind.ACCEPTED
_AMENDED = EventKind.AMENDED
_USER = CancelReason.USER
_PLACE = CommandKind.PLACE

# Looking a value up both validates it and normalises a plain int to its enum member.
_SIDES = {int(m): m for m in Side}
_ORDER_TYPES = {int(m): m for m in OrderType}
_TIFS = {int(m): m for m in TimeInForce}
_STPS = {int(m): m for m in SelfTradePrevention}
# One lookup validates and normalises all four at once: half the cost of four.
_KINDS: dict[tuple[int, int, int, int], tuple[OrderType, Side, TimeInForce, SelfTradePrevention]] = {
    kinds: kinds for kinds in product(OrderType, Side, TimeInForce, SelfTradePrevention)
}

MAX_MARKET_ID = 2 ** (63 - TRADE_SEQUENCE_BITS) - 1

_by_arrival = attrgetter("seq")


def _kind_error(order_type: object, side: object, tif: object, stp: object) -> RejectReason:
    """Which of the four enum arguments of a place is invalid, first one first."""
    for table, value, reason in (
        (_ORDER_TYPES, order_type, RejectReason.INVALID_ORDER_TYPE),
        (_SIDES, side, RejectReason.INVALID_SIDE),
        (_TIFS, tif, RejectReason.INVALID_TIME_IN_FORCE),
        (_STPS, stp, RejectReason.INVALID_STP),
    ):
        try:
            if value not in table:
                return reason
        except TypeError:
            return reason
    raise AssertionError("called with four valid kinds")


class OrderBook(MatchingCore):
    """Price-time priority book for one market. See ``matching.events`` for the output."""

    __slots__ = ("_expiries", "_stops", "open_orders")

    def __init__(self, market_id: int) -> None:
        if type(market_id) is not int or not 0 <= market_id <= MAX_MARKET_ID:
            raise ValueError(f"market_id must be an int in [0, {MAX_MARKET_ID}]")
        super().__init__(market_id)
        self.open_orders = OpenOrders(self._index)
        self._stops = stops.StopBook()
        self._expiries = Expiries()

    # ------------------------------------------------------------------ commands

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
    ) -> list[Event]:
        """Place a limit or market order. A market buy gives qty_lots or quote_lots.

        ``spend_units`` caps what a market buy by qty_lots may pay, in quote units
        (what its hold pays for); nothing else takes it.
        """
        # Fast path: a GTC limit order given as enum members and ints within their bounds,
        # the bulk of any real flow. Every test here is one the full checks below make too;
        # an order that fails any of them goes through those, which name the first fault.
        # price * qty <= MAX_VALUE with both positive bounds each of them as well.
        if (
            order_type is _LIMIT
            and tif is GTC
            and type(order_id) is int
            and type(user_id) is int
            and type(price_ticks) is int
            and type(qty_lots) is int
            and type(stp) is SelfTradePrevention
            and quote_lots is None
            and spend_units is None
            and 0 < order_id <= MAX_VALUE
            and 0 < user_id <= MAX_VALUE
            and price_ticks > 0
            and qty_lots > 0
            and (notional := price_ticks * qty_lots) <= MAX_VALUE
            and order_id not in self._index
        ):
            if side is BUY:
                best = self._best_ask
                side_notional = self._bid_notional + notional
                if side_notional > MAX_VALUE or (best is not None and best.price <= price_ticks):
                    return self._place_limit_checked(
                        order_id, user_id, BUY, price_ticks, qty_lots, post_only, stp, ts
                    )
                level = self._bids.get(-price_ticks) or self._add_level(BUY, price_ticks)
                self._bid_notional = side_notional
            elif side is SELL:
                best = self._best_bid
                side_notional = self._ask_notional + notional
                if side_notional > MAX_VALUE or (best is not None and best.price >= price_ticks):
                    return self._place_limit_checked(
                        order_id, user_id, SELL, price_ticks, qty_lots, post_only, stp, ts
                    )
                level = self._asks.get(price_ticks) or self._add_level(SELL, price_ticks)
                self._ask_notional = side_notional
            else:  # not a member of Side: the full checks normalise or refuse it
                return self._place_checked(
                    order_id,
                    user_id,
                    side,
                    order_type,
                    tif,
                    price_ticks,
                    qty_lots,
                    None,
                    post_only,
                    stp,
                    ts,
                    None,
                )
            # A passive GTC limit: it rests (what _rest does, inlined).
            seq = self._order_seq = self._order_seq + 1
            record = OrderRecord(
                order_id, user_id, side, price_ticks, qty_lots, qty_lots, stp, seq, 1 if post_only else 0
            )
            level.orders.append(record)
            total = level.total = level.total + qty_lots
            self._index[order_id] = record
            mine = self._by_user.get(user_id)
            if mine is None:
                self._by_user[user_id] = UserOrders(record)
            else:
                mine.live += 1
                mine.add(record)
            return [
                (
                    _ACCEPTED,
                    self.market_id,
                    order_id,
                    user_id,
                    side,
                    _LIMIT,
                    GTC,
                    price_ticks,
                    qty_lots,
                    None,
                    True if post_only else False,  # noqa: SIM210 (cheaper than a call)
                    stp,
                    ts,
                    total,
                )
            ]
        return self._place_checked(
            order_id,
            user_id,
            side,
            order_type,
            tif,
            price_ticks,
            qty_lots,
            quote_lots,
            post_only,
            stp,
            ts,
            spend_units,
        )

    def _place_checked(
        self,
        order_id: int,
        user_id: int,
        side: int,
        order_type: int,
        tif: int,
        price_ticks: int | None,
        qty_lots: int | None,
        quote_lots: int | None,
        post_only: bool,
        stp: int,
        ts: int,
        spend_units: int | None,
    ) -> list[Event]:
        """``place`` with every check in the documented order."""
        # The order of these checks fixes which reason a command with several faults gets.
        if type(order_id) is not int or not 0 < order_id <= MAX_VALUE:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_ORDER_ID, ts)
        if type(user_id) is not int or not 0 < user_id <= MAX_VALUE:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_USER_ID, ts)
        try:
            kinds = _KINDS.get((order_type, side, tif, stp))
        except TypeError:  # something unhashable, so not a member of its enum
            kinds = None
        if kinds is None:
            return self._reject(_PLACE, order_id, user_id, _kind_error(order_type, side, tif, stp), ts)
        otype, oside, otif, ostp = kinds
        if otype is _MARKET:
            return self._place_market(
                order_id,
                user_id,
                oside,
                otif,
                price_ticks,
                qty_lots,
                quote_lots,
                spend_units,
                post_only,
                ostp,
                ts,
            )
        if type(price_ticks) is not int or price_ticks <= 0 or price_ticks > MAX_VALUE:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_PRICE, ts)
        if (
            type(qty_lots) is not int
            or qty_lots <= 0
            or qty_lots > MAX_VALUE
            or quote_lots is not None
            or spend_units is not None
        ):
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_QUANTITY, ts)
        notional = price_ticks * qty_lots
        if notional > MAX_VALUE:
            return self._reject(_PLACE, order_id, user_id, RejectReason.NOTIONAL_TOO_LARGE, ts)
        if post_only and otif is not GTC:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_POST_ONLY, ts)
        if order_id in self._index:
            return self._reject(_PLACE, order_id, user_id, RejectReason.DUPLICATE_ORDER_ID, ts)
        return self._place_limit_checked(
            order_id, user_id, oside, price_ticks, qty_lots, post_only, ostp, ts, otif
        )

    def _place_limit_checked(
        self,
        order_id: int,
        user_id: int,
        side: Side,
        price_ticks: int,
        qty_lots: int,
        post_only: bool,
        stp: SelfTradePrevention,
        ts: int,
        tif: TimeInForce = GTC,
    ) -> list[Event]:
        """A limit order past every check up to the book total's: that check, then match / rest."""
        # Judged on the whole size before matching, so the door's answer does not depend on the fills.
        if tif is GTC and not self._side_fits(side, price_ticks * qty_lots):
            return self._reject(_PLACE, order_id, user_id, RejectReason.BOOK_TOTAL_TOO_LARGE, ts)
        post = 1 if post_only else 0
        events: list[Event] = [
            (
                _ACCEPTED,
                self.market_id,
                order_id,
                user_id,
                side,
                _LIMIT,
                tif,
                price_ticks,
                qty_lots,
                None,
                post == 1,
                stp,
                ts,
                None,
            )
        ]
        self._limit(events, order_id, user_id, side, tif, price_ticks, qty_lots, qty_lots, stp, post, ts)
        if len(events) == 2 and events[1][0] is DEPTH:  # it rested at once, without trading
            return [(*events[0][:-1], events[1][4])]
        return self._stops.after(self, events, ts)

    def cancel(self, order_id: int, user_id: int, ts: int = 0) -> list[Event]:
        """Cancel a resting order of ``user_id``."""
        try:
            record = self._index.get(order_id)
        except TypeError:
            record = None
        if record is None:
            if type(order_id) is int and order_id in self._stops:
                return self._cancel_stop(order_id, user_id, ts)
            return self._reject(CommandKind.CANCEL, order_id, user_id, RejectReason.UNKNOWN_ORDER, ts)
        if record.user_id != user_id:
            return self._reject(CommandKind.CANCEL, order_id, user_id, RejectReason.NOT_OWNER, ts)
        left = record.remaining
        remaining = left + iceberg.take_reserve(self._icebergs, order_id) if self._icebergs else left
        # _unrest and PriceLevel.unlink, inlined: a cancel is the second most common command.
        oid, uid, side, price = record.order_id, record.user_id, record.side, record.price
        del self._index[oid]
        mine = self._by_user[uid]
        mine.live -= 1
        if not mine.live:
            del self._by_user[uid]
        record.remaining = 0
        if side is BUY:
            levels = self._bids
            key = -price
            self._bid_notional -= left * price
        else:
            levels = self._asks
            key = price
            self._ask_notional -= left * price
        level: PriceLevel = levels[key]
        total = level.total = level.total - left
        if total:
            orders = level.orders
            if orders[-1] is record:
                orders.pop()
            elif orders[0] is record:
                orders.popleft()
            else:
                level.bury()
        else:
            del levels[key]
            if level is self._best_bid:
                self._best_bid = levels.peekitem(0)[1] if levels else None
            elif level is self._best_ask:
                self._best_ask = levels.peekitem(0)[1] if levels else None
        market = self.market_id
        return [
            (CANCELLED, market, order_id, user_id, side, price, remaining, None, _USER, ts),
            (DEPTH, market, side, price, total, ts),
        ]

    def cancel_all(self, user_id: int, ts: int = 0) -> list[Event]:
        """Cancel every resting order of ``user_id`` in this book, oldest first, then its pending stops.

        Reads only that user's orders (an index by user), never the whole book.
        """
        try:
            mine = self._by_user.get(user_id)
        except TypeError:  # unhashable: no such user
            return []
        # By arrival, not index order: restore rebuilds the index in price order, and a
        # replay after recovery must give the same events.
        records = sorted(mine.resting(), key=_by_arrival) if mine else []
        events: list[Event] = []
        market = self.market_id
        for record in records:
            remaining = record.remaining
            if self._icebergs:
                remaining += iceberg.take_reserve(self._icebergs, record.order_id)
            level = self._unrest(record)
            side, price = record.side, level.price
            events += [
                (CANCELLED, market, record.order_id, user_id, side, price, remaining, None, _USER, ts),
                (DEPTH, market, side, price, level.total, ts),
            ]
        if self._stops:
            for stop in self._stops.of_user(user_id):
                events += self._cancel_stop(stop.order_id, user_id, ts)
        return events

    def amend(
        self,
        order_id: int,
        user_id: int,
        new_qty_lots: int | None = None,
        new_price_ticks: int | None = None,
        ts: int = 0,
    ) -> list[Event]:
        """Change a resting order's total size (filled + open) and/or its price.

        A smaller size at the same price keeps time priority; a larger size or a
        new price sends the order to the back of its (new) level, and a new price
        may trade at once like a new GTC limit order with the same id.
        """
        amend = CommandKind.AMEND
        try:
            record = self._index.get(order_id)
        except TypeError:
            record = None
        if record is None:
            return self._reject(amend, order_id, user_id, RejectReason.UNKNOWN_ORDER, ts)
        if record.user_id != user_id:
            return self._reject(amend, order_id, user_id, RejectReason.NOT_OWNER, ts)
        if order_id in self._icebergs:  # its visible and hidden parts are not amended
            return self._reject(amend, order_id, user_id, RejectReason.INVALID_AMEND, ts)
        if new_qty_lots is None and new_price_ticks is None:
            return self._reject(amend, order_id, user_id, RejectReason.INVALID_AMEND, ts)
        if new_qty_lots is not None and (type(new_qty_lots) is not int or not 0 < new_qty_lots <= MAX_VALUE):
            return self._reject(amend, order_id, user_id, RejectReason.INVALID_QUANTITY, ts)
        if new_price_ticks is not None and (
            type(new_price_ticks) is not int or not 0 < new_price_ticks <= MAX_VALUE
        ):
            return self._reject(amend, order_id, user_id, RejectReason.INVALID_PRICE, ts)
        qty, remaining, price = record.qty, record.remaining, record.price
        new_qty = qty if new_qty_lots is None else new_qty_lots
        new_price = price if new_price_ticks is None else new_price_ticks
        filled = qty - remaining
        if new_qty <= filled or (new_qty == qty and new_price == price):
            return self._reject(amend, order_id, user_id, RejectReason.INVALID_AMEND, ts)
        if new_price * new_qty > MAX_VALUE:
            return self._reject(amend, order_id, user_id, RejectReason.NOTIONAL_TOO_LARGE, ts)
        side = _SIDES[record.side]
        new_remaining = new_qty - filled
        if not self._side_fits(side, new_price * new_remaining - price * remaining):
            return self._reject(amend, order_id, user_id, RejectReason.BOOK_TOTAL_TOO_LARGE, ts)
        if record.post_only and new_price != price and self._crosses(side, new_price):
            return self._reject(amend, order_id, user_id, RejectReason.POST_ONLY_WOULD_CROSS, ts)

        market = self.market_id
        keeps = new_price == price and new_qty < qty
        events: list[Event] = [
            (
                _AMENDED,
                market,
                order_id,
                user_id,
                side,
                new_price,
                new_qty,
                new_remaining,
                price,
                remaining,
                keeps,
                ts,
            )
        ]
        if new_price != price:
            level = self._unrest(record)
            events.append((DEPTH, market, side, price, level.total, ts))
            stp, post = record.stp, record.post_only
            self._limit(
                events, order_id, user_id, side, GTC, new_price, new_qty, new_remaining, stp, post, ts
            )
            return self._stops.after(self, events, ts)
        level = (self._bids if side is BUY else self._asks)[-price if side is BUY else price]
        if keeps:
            record.qty = new_qty
            record.remaining = new_remaining
        else:
            # Bigger at the same price: to the back of the same queue, which never empties here.
            replacement = record.copy()
            record.remaining = 0
            level.unlink(record)
            self._order_seq += 1
            replacement.qty = new_qty
            replacement.remaining = new_remaining
            replacement.seq = self._order_seq
            level.orders.append(replacement)
            self._index[order_id] = replacement
            self._by_user[user_id].add(replacement)
        level.total += new_remaining - remaining
        if side is BUY:
            self._bid_notional += (new_remaining - remaining) * price
        else:
            self._ask_notional += (new_remaining - remaining) * price
        events.append((DEPTH, market, side, price, level.total, ts))
        return events

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
    ) -> list[Event]:
        """Park a stop-limit (``order_type`` LIMIT) or stop-market order until ``stop_ticks`` trades.

        Refused as ``STOP_WOULD_TRIGGER`` when the last trade price already meets
        it; a stop placed before any trade waits for the first (matching.stops).
        """
        reason = stops.stop_error(
            order_id, user_id, side, order_type, tif, price_ticks, qty_lots, quote_lots, stop_ticks, post_only
        )
        if reason is None:
            try:
                _STPS[stp]
            except (KeyError, TypeError):
                reason = RejectReason.INVALID_STP
        if reason is None and (order_id in self._index or order_id in self._stops):
            reason = RejectReason.DUPLICATE_ORDER_ID
        if reason is None and stops.would_trigger(side, stop_ticks, self._stops.last_price):
            reason = RejectReason.STOP_WOULD_TRIGGER
        if reason is not None:
            return self._reject(_PLACE, order_id, user_id, reason, ts)
        book_stops = self._stops
        book_stops.seq += 1
        order = stops.StopOrder(
            order_id,
            user_id,
            _SIDES[side],
            _ORDER_TYPES[order_type],
            _TIFS[tif],
            price_ticks,
            qty_lots,
            quote_lots,
            stop_ticks,
            _STPS[stp],
            book_stops.seq,
        )
        book_stops.add(order)
        return [
            (
                EventKind.STOP_ACCEPTED,
                self.market_id,
                order_id,
                user_id,
                order.side,
                order.order_type,
                order.tif,
                price_ticks,
                qty_lots,
                quote_lots,
                stop_ticks,
                order.stp,
                ts,
            )
        ]

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
    ) -> list[Event]:
        """Place a GTC limit order that may be an iceberg (``display_lots``) and/or good till ``expire_ts``.

        It matches with its whole size; what rests shows ``display_lots`` and keeps
        the rest in reserve (matching.iceberg). It leaves the book with
        ``Cancelled(EXPIRED)`` at the first ``expire`` command at or after
        ``expire_ts`` (matching.expiry). Checked before the rest of a place:
        display size, then expire time.
        """
        if display_lots is not None and (type(display_lots) is not int or not 0 < display_lots <= MAX_VALUE):
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_DISPLAY_QTY, ts)
        if expire_ts is not None and (
            type(expire_ts) is not int or type(ts) is not int or not ts < expire_ts <= MAX_VALUE
        ):
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_EXPIRE_TIME, ts)
        book_stops = self._stops
        book_stops.busy = True  # its remainder becomes an iceberg before any stop may trade with it
        try:
            events = self.place(
                order_id, user_id, side, _LIMIT, GTC, price_ticks, qty_lots, None, post_only, stp, ts
            )
        finally:
            book_stops.busy = False
        record = self._index.get(order_id) if events[0][0] is _ACCEPTED else None
        if record is not None:
            if display_lots is not None:
                hidden = iceberg.hide(record, display_lots)
                if hidden:
                    self._icebergs[order_id] = [hidden, display_lots]
                    self._hide_lots(record, hidden, events)
            if expire_ts is not None:
                self._expiries.add(order_id, expire_ts)
        return book_stops.after(self, events, ts)

    def expire(self, ts: int) -> list[Event]:
        """End every good-till-date order whose expire time is at or before ``ts``."""
        events: list[Event] = []
        market = self.market_id
        for order_id in self._expiries.due(ts):
            record = self._index.get(order_id)
            if record is None:
                continue
            remaining = record.remaining
            if self._icebergs:
                remaining += iceberg.take_reserve(self._icebergs, order_id)
            level = self._unrest(record)
            side, price, user_id = record.side, level.price, record.user_id
            events += [
                (
                    CANCELLED,
                    market,
                    order_id,
                    user_id,
                    side,
                    price,
                    remaining,
                    None,
                    CancelReason.EXPIRED,
                    ts,
                ),
                (DEPTH, market, side, price, level.total, ts),
            ]
        return events

    def next_expiry(self) -> int | None:
        """The earliest expire time pending (it may belong to an order gone since): when to send expire."""
        return self._expiries.next_expiry()

    # ------------------------------------------------------------------- queries

    @property
    def last_price(self) -> int | None:
        """The price of the last trade, what stop orders watch (None before the first)."""
        return self._stops.last_price

    @last_price.setter
    def last_price(self, price: int | None) -> None:  # restoring a book: the last trade's price
        self._stops.last_price = price

    @property
    def stop_orders(self) -> list[stops.StopOrder]:
        """The pending stop orders, oldest first."""
        return self._stops.pending()

    def reserve_of(self, order_id: int) -> int:
        """An iceberg's hidden lots (0 for any other order)."""
        return iceberg.hidden_of(self._icebergs, order_id)

    def expire_time_of(self, order_id: int) -> int | None:
        return self._expiries.get(order_id)

    def best_bid(self) -> int | None:
        level = self._best_bid
        return None if level is None else level.price

    def best_ask(self) -> int | None:
        level = self._best_ask
        return None if level is None else level.price

    def depth(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top ``n`` levels per side, best first, as (price_ticks, total_lots)."""
        bids = [(level.price, level.total) for level in self._bids.values()[:n]]
        asks = [(level.price, level.total) for level in self._asks.values()[:n]]
        return bids, asks

    @property
    def trade_sequence(self) -> int:
        """Sequence part of the last trade id issued (0 before the first trade)."""
        return self._trade_seq

    def check_invariants(self) -> None:
        """Raise :class:`InvariantViolation` unless the book is internally consistent."""
        invariants.check_book(
            self._bids, self._asks, self._best_bid, self._best_ask, self._index, self._order_seq
        )
        invariants.check_user_index(self._index, self._by_user)
        invariants.check_side_totals(self._bids, Side.BUY, self._bid_notional)
        invariants.check_side_totals(self._asks, Side.SELL, self._ask_notional)
        if not 0 <= self._trade_seq < 1 << TRADE_SEQUENCE_BITS:
            invariants.fail(f"trade sequence {self._trade_seq} out of range")
        for order_id, (hidden, display) in self._icebergs.items():
            if order_id not in self._index or hidden <= 0 or display <= 0:
                invariants.fail(
                    f"iceberg {order_id}: reserve {hidden}, display {display}, "
                    f"resting {order_id in self._index}"
                )
        for stop in self._stops.pending():
            if stop.order_id in self._index:
                invariants.fail(f"stop {stop.order_id} both pending and resting")

    def snapshot(self) -> dict[str, Any]:
        """JSON-serialisable state from which :meth:`restore` rebuilds an equal book."""
        rows = [record.row() for record in self._records_in_priority()]
        return snapshot.make(self.market_id, self._trade_seq, self._order_seq, rows, self._extras())

    @classmethod
    def restore(cls, market_id: int, state: dict[str, Any]) -> OrderBook:
        """Rebuild a book from :meth:`snapshot` output; raises ``SnapshotError`` if malformed."""
        parsed = snapshot.parse(market_id, state)
        book = cls(market_id)
        book._trade_seq = parsed.trade_seq
        book._order_seq = parsed.order_seq
        for record in parsed.records:
            price = record.price
            key = -price if record.side == BUY else price
            levels = book._bids if record.side == BUY else book._asks
            level = levels.get(key)
            if level is None:
                level = levels[key] = PriceLevel(key, price)
            level.orders.append(record)
            level.total += record.remaining
            book._index[record.order_id] = record
            book._remember(record)
            if record.side == BUY:
                book._bid_notional += record.remaining * price
            else:
                book._ask_notional += record.remaining * price
        book._best_bid = book._bids.peekitem(0)[1] if book._bids else None
        book._best_ask = book._asks.peekitem(0)[1] if book._asks else None
        extras = parsed.extras
        for order_id, hidden, display in extras.icebergs:
            book._icebergs[order_id] = [hidden, display]
        for order_id, expire_ts in extras.expiries:
            book._expiries.add(order_id, expire_ts)
        for stop in extras.stops:
            book._stops.add(stop)
        book._stops.seq = len(extras.stops)
        book._stops.last_price = extras.last_price
        try:
            book.check_invariants()
        except AssertionError as exc:
            raise snapshot.SnapshotError(f"inconsistent snapshot: {exc}") from exc
        return book

    def state_hash(self) -> str:
        """Hash of everything that decides what the book does next (``matching.snapshot``)."""
        return snapshot.state_hash(
            self.market_id, self._trade_seq, self._records_in_priority(), self._extras()
        )

    def _extras(self) -> Extras:
        """Reserves, expire times of resting orders, pending stops and the last price."""
        index = self._index
        # An expiry stays until due (matching.expiry); only those of resting orders decide anything.
        expiries = sorted([order_id, at] for order_id, at in self._expiries.items() if order_id in index)
        return Extras(
            [[order_id, hidden, display] for order_id, (hidden, display) in sorted(self._icebergs.items())],
            expiries,
            self._stops.pending(),
            self._stops.last_price,
        )

    # ------------------------------------------------------------------- helpers

    def _cancel_stop(self, order_id: int, user_id: int, ts: int) -> list[Event]:
        stop = self._stops.get(order_id)
        assert stop is not None
        if stop.user_id != user_id:
            return self._reject(CommandKind.CANCEL, order_id, user_id, RejectReason.NOT_OWNER, ts)
        self._stops.remove(order_id)
        remaining = 0 if stop.quote_lots is not None else stop.qty_lots
        cancelled = (
            CANCELLED,
            self.market_id,
            order_id,
            user_id,
            stop.side,
            stop.price_ticks,
            remaining,
            stop.quote_lots,
            _USER,
            ts,
        )
        return [cancelled]

    def _hide_lots(self, record: OrderRecord, hidden: int, events: list[Event]) -> None:
        """Take an iceberg's reserve out of its level's and side's totals, and out of the event saying so."""
        side, price = record.side, record.price
        level = (self._bids if side == BUY else self._asks)[-price if side == BUY else price]
        level.total -= hidden
        if side == BUY:
            self._bid_notional -= hidden * price
        else:
            self._ask_notional -= hidden * price
        last = events[-1]
        if last[0] is DEPTH:  # it rested after trading
            assert last[3] == price
            events[-1] = (DEPTH, last[1], last[2], price, level.total, last[5])
        else:  # it rested at once: its Accepted carries the level's total
            assert last[0] is _ACCEPTED and last[-1] is not None
            events[-1] = (*last[:-1], level.total)

    def _place_market(
        self,
        order_id: int,
        user_id: int,
        side: Side,
        tif: TimeInForce,
        price_ticks: int | None,
        qty_lots: int | None,
        quote_lots: int | None,
        spend_units: int | None,
        post_only: bool,
        stp: SelfTradePrevention,
        ts: int,
    ) -> list[Event]:
        if price_ticks is not None:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_PRICE, ts)
        if quote_lots is None:
            if type(qty_lots) is not int or not 0 < qty_lots <= MAX_VALUE:
                return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_QUANTITY, ts)
        elif (
            side is not BUY
            or qty_lots is not None
            or type(quote_lots) is not int
            or not 0 < quote_lots <= MAX_VALUE
        ):
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_QUANTITY, ts)
        if spend_units is not None and (
            side is not BUY
            or quote_lots is not None
            or type(spend_units) is not int
            or not 0 <= spend_units <= MAX_VALUE
        ):
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_QUANTITY, ts)
        if post_only:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_POST_ONLY, ts)
        if quote_lots is not None and tif is TimeInForce.FOK:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INVALID_TIME_IN_FORCE, ts)
        if order_id in self._index:
            return self._reject(_PLACE, order_id, user_id, RejectReason.DUPLICATE_ORDER_ID, ts)
        best = self._best_ask if side is BUY else self._best_bid
        if best is None:
            return self._reject(_PLACE, order_id, user_id, RejectReason.NO_LIQUIDITY, ts)
        if quote_lots is not None and quote_lots < best.price:
            return self._reject(_PLACE, order_id, user_id, RejectReason.QUOTE_TOO_SMALL, ts)
        if spend_units is not None and spend_units < best.price:
            return self._reject(_PLACE, order_id, user_id, RejectReason.INSUFFICIENT_FUNDS, ts)
        market = self.market_id
        events: list[Event] = [
            (
                _ACCEPTED,
                market,
                order_id,
                user_id,
                side,
                _MARKET,
                tif,
                None,
                qty_lots,
                quote_lots,
                False,
                stp,
                ts,
                None,
            )
        ]
        self._market(events, order_id, user_id, side, tif, qty_lots or 0, quote_lots, spend_units, stp, ts)
        return self._stops.after(self, events, ts)
