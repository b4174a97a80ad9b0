"""A naive order book: the oracle the fast book is tested against.

One flat list of resting orders, re-sorted and re-summed whenever an answer
is needed; FOK decided by trial on a copy. Nothing here is clever, so that
each rule can be read off directly. It follows the same contract and emits
the same events as :class:`matching.book.OrderBook`, just slowly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from matching import snapshot, stops
from matching.errors import InvariantViolation
from matching.events import (
    Accepted,
    Amended,
    Cancelled,
    Depth,
    Event,
    Filled,
    Refreshed,
    Rejected,
    StopAccepted,
    Trade,
    Triggered,
)
from matching.orders import OpenOrder, OrderRecord
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

BUY, SELL = Side.BUY, Side.SELL
NEWEST = SelfTradePrevention.CANCEL_NEWEST
OLDEST = SelfTradePrevention.CANCEL_OLDEST
BOTH = SelfTradePrevention.CANCEL_BOTH
ALLOW = SelfTradePrevention.ALLOW


@dataclass
class _Order:
    order_id: int
    user_id: int
    side: Side
    price: int
    qty: int
    remaining: int
    stp: SelfTradePrevention
    post_only: bool
    seq: int
    hidden: int = 0  # an iceberg's reserve; ``remaining`` is its visible part
    display: int = 0


@dataclass
class _Stop:
    order_id: int
    user_id: int
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price: int | None
    qty: int | None
    quote: int | None
    stop: int
    stp: SelfTradePrevention
    seq: int


def _valid_amount(value: object) -> bool:
    return type(value) is int and 1 <= value <= MAX_VALUE


class ReferenceBook:
    def __init__(self, market_id: int) -> None:
        self.market_id = market_id
        self.resting: list[_Order] = []
        self.trade_seq = 0
        self.order_seq = 0
        self.stops: list[_Stop] = []
        self.stop_seq = 0
        self.last_price: int | None = None
        self.triggering = False
        self.expiries: dict[int, int] = {}  # order id -> expire time

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
        reason = self._place_error(
            order_id,
            user_id,
            side,
            order_type,
            tif,
            price_ticks,
            qty_lots,
            quote_lots,
            spend_units,
            post_only,
            stp,
        )
        if reason is not None:
            return [self._rejected(CommandKind.PLACE, order_id, user_id, reason, ts)]
        side, tif, stp = Side(side), TimeInForce(tif), SelfTradePrevention(stp)
        accepted = Accepted(
            EventKind.ACCEPTED,
            self.market_id,
            order_id,
            user_id,
            side,
            OrderType(order_type),
            tif,
            price_ticks,
            qty_lots,
            quote_lots,
            bool(post_only),
            stp,
            ts,
            None,
        )
        events: list[Event] = [accepted]
        if order_type == OrderType.MARKET:
            self._market(events, order_id, user_id, side, tif, qty_lots, quote_lots, spend_units, stp, ts)
        else:
            assert price_ticks is not None and qty_lots is not None
            self._limit(
                events,
                order_id,
                user_id,
                side,
                tif,
                price_ticks,
                qty_lots,
                qty_lots,
                stp,
                bool(post_only),
                ts,
            )
            if len(events) == 2 and events[1][0] == EventKind.DEPTH:  # it rested at once, without trading
                events = [accepted._replace(rested_lots=events[1][4])]
        return self._after_trades(events, ts)

    def cancel(self, order_id: int, user_id: int, ts: int = 0) -> list[Event]:
        order = self._find(order_id)
        stop = next((s for s in self.stops if s.order_id == order_id), None)
        if order is None and stop is None:
            return [self._rejected(CommandKind.CANCEL, order_id, user_id, RejectReason.UNKNOWN_ORDER, ts)]
        if (order or stop).user_id != user_id:  # type: ignore[union-attr]
            return [self._rejected(CommandKind.CANCEL, order_id, user_id, RejectReason.NOT_OWNER, ts)]
        if order is None:
            assert stop is not None
            return self._cancel_stop(stop, ts)
        return self._cancel_resting(order, ts)

    def cancel_all(self, user_id: int, ts: int = 0) -> list[Event]:
        events: list[Event] = []
        for order in sorted((o for o in self.resting if o.user_id == user_id), key=lambda o: o.seq):
            events += self._cancel_resting(order, ts)
        for stop in sorted((s for s in self.stops if s.user_id == user_id), key=lambda s: s.seq):
            events += self._cancel_stop(stop, ts)
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
        reason = stops.stop_error(
            order_id, user_id, side, order_type, tif, price_ticks, qty_lots, quote_lots, stop_ticks, post_only
        )
        if reason is None and stp not in (NEWEST, OLDEST, BOTH, ALLOW):
            reason = RejectReason.INVALID_STP
        if reason is None and (
            self._find(order_id) is not None or any(s.order_id == order_id for s in self.stops)
        ):
            reason = RejectReason.DUPLICATE_ORDER_ID
        last = self.last_price
        if (
            reason is None
            and last is not None
            and (last >= stop_ticks if side == BUY else last <= stop_ticks)
        ):
            reason = RejectReason.STOP_WOULD_TRIGGER
        if reason is not None:
            return [self._rejected(CommandKind.PLACE, order_id, user_id, reason, ts)]
        self.stop_seq += 1
        stop = _Stop(
            order_id,
            user_id,
            Side(side),
            OrderType(order_type),
            TimeInForce(tif),
            price_ticks,
            qty_lots,
            quote_lots,
            stop_ticks,
            SelfTradePrevention(stp),
            self.stop_seq,
        )
        self.stops.append(stop)
        return [
            StopAccepted(
                EventKind.STOP_ACCEPTED,
                self.market_id,
                order_id,
                user_id,
                stop.side,
                stop.order_type,
                stop.tif,
                price_ticks,
                qty_lots,
                quote_lots,
                stop_ticks,
                stop.stp,
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
        if display_lots is not None and not _valid_amount(display_lots):
            return [
                self._rejected(CommandKind.PLACE, order_id, user_id, RejectReason.INVALID_DISPLAY_QTY, ts)
            ]
        if expire_ts is not None and (
            type(expire_ts) is not int or type(ts) is not int or not ts < expire_ts <= MAX_VALUE
        ):
            return [
                self._rejected(CommandKind.PLACE, order_id, user_id, RejectReason.INVALID_EXPIRE_TIME, ts)
            ]
        self.triggering = True  # no stop may trade with it before it is an iceberg
        try:
            events = self.place(
                order_id,
                user_id,
                side,
                OrderType.LIMIT,
                TimeInForce.GTC,
                price_ticks,
                qty_lots,
                None,
                post_only,
                stp,
                ts,
            )
        finally:
            self.triggering = False
        order = self._find(order_id) if events[0][0] == EventKind.ACCEPTED else None
        if order is not None:
            if display_lots is not None and order.remaining > display_lots:
                order.hidden = order.remaining - display_lots
                order.remaining = display_lots
                order.display = display_lots
                if events[-1][0] == EventKind.DEPTH:
                    events[-1] = self._depth(order.side, order.price, ts)
                else:  # it rested at once: the total is its Accepted's
                    events[-1] = Accepted._make((*events[-1][:-1], self._total(order.side, order.price)))
            if expire_ts is not None:
                self.expiries[order_id] = expire_ts
        return self._after_trades(events, ts)

    def expire(self, ts: int) -> list[Event]:
        events: list[Event] = []
        due = sorted((at, oid) for oid, at in self.expiries.items() if at <= ts)
        for _, order_id in due:
            del self.expiries[order_id]
            order = self._find(order_id)
            if order is not None:
                self.resting.remove(order)
                events.append(
                    self._cancelled(
                        order_id,
                        order.user_id,
                        order.side,
                        order.price,
                        order.remaining + order.hidden,
                        CancelReason.EXPIRED,
                        ts,
                    )
                )
                events.append(self._depth(order.side, order.price, ts))
        return events

    def next_expiry(self) -> int | None:
        return min(self.expiries.values(), default=None)

    def amend(
        self,
        order_id: int,
        user_id: int,
        new_qty_lots: int | None = None,
        new_price_ticks: int | None = None,
        ts: int = 0,
    ) -> list[Event]:
        def reject(reason: RejectReason) -> list[Event]:
            return [self._rejected(CommandKind.AMEND, order_id, user_id, reason, ts)]

        order = self._find(order_id)
        if order is None:
            return reject(RejectReason.UNKNOWN_ORDER)
        if order.user_id != user_id:
            return reject(RejectReason.NOT_OWNER)
        if order.hidden:
            return reject(RejectReason.INVALID_AMEND)
        if new_qty_lots is None and new_price_ticks is None:
            return reject(RejectReason.INVALID_AMEND)
        if new_qty_lots is not None and not _valid_amount(new_qty_lots):
            return reject(RejectReason.INVALID_QUANTITY)
        if new_price_ticks is not None and not _valid_amount(new_price_ticks):
            return reject(RejectReason.INVALID_PRICE)
        new_qty = order.qty if new_qty_lots is None else new_qty_lots
        new_price = order.price if new_price_ticks is None else new_price_ticks
        filled = order.qty - order.remaining
        if new_qty <= filled:
            return reject(RejectReason.INVALID_AMEND)
        if new_qty == order.qty and new_price == order.price:
            return reject(RejectReason.INVALID_AMEND)
        if new_price * new_qty > MAX_VALUE:
            return reject(RejectReason.NOTIONAL_TOO_LARGE)
        lots, notional = self._side_totals(order.side)
        if (
            lots - order.remaining + new_qty - filled > MAX_VALUE
            or notional - order.price * order.remaining + new_price * (new_qty - filled) > MAX_VALUE
        ):
            return reject(RejectReason.BOOK_TOTAL_TOO_LARGE)
        if order.post_only and new_price != order.price and self._crosses(order.side, new_price):
            return reject(RejectReason.POST_ONLY_WOULD_CROSS)

        old_price, old_remaining = order.price, order.remaining
        new_remaining = new_qty - filled
        keeps_priority = new_price == order.price and new_qty < order.qty
        events: list[Event] = [
            Amended(
                EventKind.AMENDED,
                self.market_id,
                order_id,
                user_id,
                order.side,
                new_price,
                new_qty,
                new_remaining,
                old_price,
                old_remaining,
                keeps_priority,
                ts,
            )
        ]
        if keeps_priority:
            order.qty, order.remaining = new_qty, new_remaining
            events.append(self._depth(order.side, old_price, ts))
        elif new_price == old_price:
            order.qty, order.remaining = new_qty, new_remaining
            self.order_seq += 1
            order.seq = self.order_seq
            events.append(self._depth(order.side, old_price, ts))
        else:
            self.resting.remove(order)
            events.append(self._depth(order.side, old_price, ts))
            self._limit(
                events,
                order_id,
                user_id,
                order.side,
                TimeInForce.GTC,
                new_price,
                new_qty,
                new_remaining,
                order.stp,
                order.post_only,
                ts,
            )
        return self._after_trades(events, ts)

    # ------------------------------------------------------------------- queries

    @property
    def open_orders(self) -> dict[int, OpenOrder]:
        return {
            o.order_id: OpenOrder(
                o.order_id, o.user_id, o.side, o.price, o.qty, o.remaining, o.stp, o.post_only
            )
            for o in self.resting
        }

    def best_bid(self) -> int | None:
        return max((o.price for o in self.resting if o.side == BUY), default=None)

    def best_ask(self) -> int | None:
        return min((o.price for o in self.resting if o.side == SELL), default=None)

    def depth(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        def levels(side: Side) -> list[tuple[int, int]]:
            prices = sorted({o.price for o in self.resting if o.side == side}, reverse=side == BUY)
            return [(p, self._total(side, p)) for p in prices[:n]]

        return levels(BUY), levels(SELL)

    def state_hash(self) -> str:
        rows = [
            OrderRecord(
                o.order_id, o.user_id, o.side, o.price, o.qty, o.remaining, o.stp, o.seq, int(o.post_only)
            )
            for o in self._in_priority(BUY) + self._in_priority(SELL)
        ]
        resting = {o.order_id: o for o in self.resting}
        extras = snapshot.Extras(
            [[o.order_id, o.hidden, o.display] for _, o in sorted(resting.items()) if o.hidden],
            sorted([oid, at] for oid, at in self.expiries.items() if oid in resting),
            [
                stops.StopOrder(
                    s.order_id,
                    s.user_id,
                    s.side,
                    s.order_type,
                    s.tif,
                    s.price,
                    s.qty,
                    s.quote,
                    s.stop,
                    s.stp,
                    s.seq,
                )
                for s in sorted(self.stops, key=lambda s: s.seq)
            ],
            self.last_price,
        )
        return snapshot.state_hash(self.market_id, self.trade_seq, rows, extras)

    def check_invariants(self) -> None:
        ids = [o.order_id for o in self.resting]
        if len(ids) != len(set(ids)):
            raise InvariantViolation("an order id rests twice")
        for o in self.resting:
            if not 0 < o.remaining <= o.qty:
                raise InvariantViolation(f"order {o.order_id} remaining {o.remaining} of {o.qty}")
        bid, ask = self.best_bid(), self.best_ask()
        if bid is not None and ask is not None and bid >= ask:
            raise InvariantViolation(f"book crossed: bid {bid} >= ask {ask}")
        for side in (BUY, SELL):
            if max(self._side_totals(side)) > MAX_VALUE:
                raise InvariantViolation(f"{side.name} side totals {self._side_totals(side)} above MAX_VALUE")

    # ------------------------------------------------------------------ matching

    def _limit(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        tif: TimeInForce,
        price: int,
        qty: int,
        remaining: int,
        stp: SelfTradePrevention,
        post_only: bool,
        ts: int,
    ) -> None:
        if self._crosses(side, price):
            if post_only:
                events.append(
                    self._cancelled(
                        order_id, user_id, side, price, remaining, CancelReason.POST_ONLY_WOULD_CROSS, ts
                    )
                )
                return
            if tif == TimeInForce.FOK:
                unfillable = self._fok_verdict(user_id, side, price, remaining, None, stp)
                if unfillable is not None:
                    events.append(self._cancelled(order_id, user_id, side, price, remaining, unfillable, ts))
                    return
            left, _, self_traded = self._sweep(
                events, order_id, user_id, side, price, remaining, None, stp, ts
            )
            assert left is not None
            remaining = left
            if remaining == 0:
                events.append(self._filled(order_id, user_id, side, None, ts))
                return
            if self_traded:
                events.append(
                    self._cancelled(order_id, user_id, side, price, remaining, CancelReason.SELF_TRADE, ts)
                )
                return
        if tif == TimeInForce.IOC:
            events.append(
                self._cancelled(order_id, user_id, side, price, remaining, CancelReason.IOC_REMAINDER, ts)
            )
            return
        if tif == TimeInForce.FOK:
            events.append(
                self._cancelled(order_id, user_id, side, price, remaining, CancelReason.FOK_UNFILLABLE, ts)
            )
            return
        self.order_seq += 1
        self.resting.append(
            _Order(order_id, user_id, side, price, qty, remaining, stp, post_only, self.order_seq)
        )
        events.append(self._depth(side, price, ts))

    def _market(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        tif: TimeInForce,
        qty: int | None,
        quote: int | None,
        spend: int | None,
        stp: SelfTradePrevention,
        ts: int,
    ) -> None:
        if quote is not None:
            _, left, self_traded = self._sweep(events, order_id, user_id, side, None, None, quote, stp, ts)
            assert left is not None
            if self_traded:
                reason: CancelReason | None = CancelReason.SELF_TRADE
            elif left == quote or (left > 0 and not self._side(SELL)):
                # Bought nothing, or could buy more but the asks ran out.
                reason = CancelReason.MARKET_REMAINDER
            else:  # what is left buys less than one lot at the best ask
                reason = None
            if reason is None:
                events.append(self._filled(order_id, user_id, side, left, ts))
            else:
                events.append(self._cancelled(order_id, user_id, side, None, 0, reason, ts, left))
            return
        assert qty is not None
        if tif == TimeInForce.FOK:
            unfillable = self._fok_verdict(user_id, side, None, qty, spend, stp)
            if unfillable is not None:
                events.append(self._cancelled(order_id, user_id, side, None, qty, unfillable, ts))
                return
        remaining, _, self_traded = self._sweep(events, order_id, user_id, side, None, qty, spend, stp, ts)
        assert remaining is not None
        if remaining == 0:
            events.append(self._filled(order_id, user_id, side, None, ts))
            return
        if self_traded:
            reason = CancelReason.SELF_TRADE
        elif not self._side(SELL if side == BUY else BUY):
            reason = CancelReason.MARKET_REMAINDER
        else:  # liquidity left that the spend cap does not pay for
            reason = CancelReason.INSUFFICIENT_FUNDS
        events.append(self._cancelled(order_id, user_id, side, None, remaining, reason, ts))

    def _sweep(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        limit: int | None,
        remaining: int | None,
        budget: int | None,
        stp: SelfTradePrevention,
        ts: int,
    ) -> tuple[int | None, int | None, bool]:
        """Take liquidity maker by maker; a Depth event each time the taker leaves a level.

        ``remaining`` None means no size limit (a buy by quote amount); ``budget``
        None means no limit on what the taker pays.
        """
        maker_side = SELL if side == BUY else BUY
        level_price: int | None = None
        level_total_before = 0
        self_traded = False

        def leave_level() -> None:
            if level_price is not None and self._total(maker_side, level_price) != level_total_before:
                events.append(self._depth(maker_side, level_price, ts))

        while remaining is None or remaining > 0:
            makers = [
                o
                for o in self._in_priority(maker_side)
                if limit is None or (o.price <= limit if side == BUY else o.price >= limit)
            ]
            if not makers:
                break
            maker = makers[0]
            if budget is not None and budget // maker.price == 0:
                break
            if maker.price != level_price:
                leave_level()
                level_price, level_total_before = maker.price, self._total(maker_side, maker.price)
            if maker.user_id == user_id and stp != ALLOW:
                if stp in (OLDEST, BOTH):
                    self.resting.remove(maker)
                    events.append(
                        self._cancelled(
                            maker.order_id,
                            maker.user_id,
                            maker_side,
                            maker.price,
                            maker.remaining + maker.hidden,
                            CancelReason.SELF_TRADE,
                            ts,
                        )
                    )
                if stp in (NEWEST, BOTH):
                    self_traded = True
                    break
                continue
            fill = min(
                maker.remaining,
                maker.remaining if remaining is None else remaining,
                maker.remaining if budget is None else budget // maker.price,
            )
            if remaining is not None:
                remaining -= fill
            if budget is not None:
                budget -= fill * maker.price
            maker.remaining -= fill
            self.trade_seq += 1
            events.append(
                Trade(
                    EventKind.TRADE,
                    self.market_id,
                    (self.market_id << 40) | self.trade_seq,
                    maker.order_id,
                    maker.user_id,
                    order_id,
                    user_id,
                    side,
                    maker.price,
                    fill,
                    maker.remaining + maker.hidden,
                    ts,
                )
            )
            if maker.remaining == 0 and maker.hidden:
                # An iceberg refills from its reserve and goes to the back of its level.
                maker.remaining = min(maker.display, maker.hidden)
                maker.hidden -= maker.remaining
                self.order_seq += 1
                maker.seq = self.order_seq
                events.append(
                    Refreshed(
                        EventKind.REFRESHED,
                        self.market_id,
                        maker.order_id,
                        maker.user_id,
                        maker_side,
                        maker.price,
                        maker.remaining,
                        maker.hidden,
                        ts,
                    )
                )
            elif maker.remaining == 0:
                self.resting.remove(maker)
                events.append(self._filled(maker.order_id, maker.user_id, maker_side, None, ts))
        leave_level()
        return remaining, budget, self_traded

    def _fok_verdict(
        self,
        user_id: int,
        side: Side,
        limit: int | None,
        qty: int,
        spend: int | None,
        stp: SelfTradePrevention,
    ) -> CancelReason | None:
        """FOK by trial: None when an IOC of the same order fills completely on a copy of the book."""
        trial = copy.deepcopy(self)
        for order in trial.resting:  # FOK judges the shown size: an iceberg's reserve does not count
            order.hidden = 0
        remaining, _, _ = trial._sweep([], -1, user_id, side, limit, qty, spend, stp, 0)
        if remaining == 0:
            return None
        if spend is not None and self._fok_verdict(user_id, side, limit, qty, None, stp) is None:
            return CancelReason.INSUFFICIENT_FUNDS
        return CancelReason.FOK_UNFILLABLE

    # ------------------------------------------------------------------- helpers

    def _place_error(
        self,
        order_id: int,
        user_id: int,
        side: int,
        order_type: int,
        tif: int,
        price: int | None,
        qty: int | None,
        quote: int | None,
        spend: int | None,
        post_only: bool,
        stp: int,
    ) -> RejectReason | None:
        if not _valid_amount(order_id):
            return RejectReason.INVALID_ORDER_ID
        if not _valid_amount(user_id):
            return RejectReason.INVALID_USER_ID
        if order_type not in (OrderType.LIMIT, OrderType.MARKET):
            return RejectReason.INVALID_ORDER_TYPE
        if side not in (BUY, SELL):
            return RejectReason.INVALID_SIDE
        if tif not in (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK):
            return RejectReason.INVALID_TIME_IN_FORCE
        if stp not in (NEWEST, OLDEST, BOTH, ALLOW):
            return RejectReason.INVALID_STP
        if order_type == OrderType.LIMIT:
            if not _valid_amount(price):
                return RejectReason.INVALID_PRICE
            if not _valid_amount(qty) or quote is not None or spend is not None:
                return RejectReason.INVALID_QUANTITY
            assert price is not None and qty is not None
            if price * qty > MAX_VALUE:
                return RejectReason.NOTIONAL_TOO_LARGE
            if post_only and tif != TimeInForce.GTC:
                return RejectReason.INVALID_POST_ONLY
        else:
            if price is not None:
                return RejectReason.INVALID_PRICE
            by_quote = quote is not None
            if by_quote and (side != BUY or qty is not None or not _valid_amount(quote)):
                return RejectReason.INVALID_QUANTITY
            if not by_quote and not _valid_amount(qty):
                return RejectReason.INVALID_QUANTITY
            if spend is not None and (
                side != BUY or by_quote or type(spend) is not int or not 0 <= spend <= MAX_VALUE
            ):
                return RejectReason.INVALID_QUANTITY
            if post_only:
                return RejectReason.INVALID_POST_ONLY
            if by_quote and tif == TimeInForce.FOK:
                return RejectReason.INVALID_TIME_IN_FORCE
        if self._find(order_id) is not None:
            return RejectReason.DUPLICATE_ORDER_ID
        if order_type == OrderType.LIMIT and tif == TimeInForce.GTC:
            assert price is not None and qty is not None
            lots, notional = self._side_totals(Side(side))
            if lots + qty > MAX_VALUE or notional + price * qty > MAX_VALUE:
                return RejectReason.BOOK_TOTAL_TOO_LARGE
        if order_type == OrderType.MARKET:
            other = self._in_priority(SELL if side == BUY else BUY)
            if not other:
                return RejectReason.NO_LIQUIDITY
            if quote is not None and quote < other[0].price:
                return RejectReason.QUOTE_TOO_SMALL
            if spend is not None and spend < other[0].price:
                return RejectReason.INSUFFICIENT_FUNDS
        return None

    def _cancel_resting(self, order: _Order, ts: int) -> list[Event]:
        self.resting.remove(order)
        remaining = order.remaining + order.hidden
        return [
            self._cancelled(
                order.order_id, order.user_id, order.side, order.price, remaining, CancelReason.USER, ts
            ),
            self._depth(order.side, order.price, ts),
        ]

    def _cancel_stop(self, stop: _Stop, ts: int) -> list[Event]:
        self.stops.remove(stop)
        remaining = 0 if stop.quote is not None else stop.qty
        assert remaining is not None
        return [
            self._cancelled(
                stop.order_id,
                stop.user_id,
                stop.side,
                stop.price,
                remaining,
                CancelReason.USER,
                ts,
                stop.quote,
            )
        ]

    def _after_trades(self, events: list[Event], ts: int) -> list[Event]:
        """After a command: note the last trade price; enter the stops it reached one by one, oldest first."""
        trades = [e for e in events if e[0] == EventKind.TRADE]
        if not trades:
            return events
        self.last_price = trades[-1][8]
        if self.triggering:
            return events
        self.triggering = True
        while True:
            last = self.last_price
            due = [s for s in self.stops if (last >= s.stop if s.side == BUY else last <= s.stop)]
            if not due:
                break
            stop = min(due, key=lambda s: s.seq)
            self.stops.remove(stop)
            events.append(
                Triggered(
                    EventKind.TRIGGERED,
                    self.market_id,
                    stop.order_id,
                    stop.user_id,
                    stop.side,
                    stop.stop,
                    last,
                    ts,
                )
            )
            placed = self.place(
                stop.order_id,
                stop.user_id,
                stop.side,
                stop.order_type,
                stop.tif,
                stop.price,
                stop.qty,
                stop.quote,
                False,
                stop.stp,
                ts,
            )
            events += placed
            placed_trades = [e for e in placed if e[0] == EventKind.TRADE]
            if placed_trades:
                self.last_price = placed_trades[-1][8]
        self.triggering = False
        return events

    def _find(self, order_id: int) -> _Order | None:
        return next((o for o in self.resting if o.order_id == order_id), None)

    def _side(self, side: Side) -> list[_Order]:
        return [o for o in self.resting if o.side == side]

    def _in_priority(self, side: Side) -> list[_Order]:
        def priority(o: _Order) -> tuple[int, int]:
            return (-o.price if side == BUY else o.price, o.seq)

        return sorted(self._side(side), key=priority)

    def _side_totals(self, side: Side) -> tuple[int, int]:
        """Resting lots and notional of one side."""
        orders = self._side(side)
        return sum(o.remaining for o in orders), sum(o.remaining * o.price for o in orders)

    def _total(self, side: Side, price: int) -> int:
        return sum(o.remaining for o in self.resting if o.side == side and o.price == price)

    def _crosses(self, side: Side, price: int) -> bool:
        if side == BUY:
            ask = self.best_ask()
            return ask is not None and ask <= price
        bid = self.best_bid()
        return bid is not None and bid >= price

    def _depth(self, side: Side, price: int, ts: int) -> Depth:
        return Depth(EventKind.DEPTH, self.market_id, side, price, self._total(side, price), ts)

    def _filled(
        self, order_id: int, user_id: int, side: Side, quote_remaining: int | None, ts: int
    ) -> Filled:
        return Filled(EventKind.FILLED, self.market_id, order_id, user_id, side, quote_remaining, ts)

    def _cancelled(
        self,
        order_id: int,
        user_id: int,
        side: Side,
        price: int | None,
        remaining: int,
        reason: CancelReason,
        ts: int,
        quote_remaining: int | None = None,
    ) -> Cancelled:
        return Cancelled(
            EventKind.CANCELLED,
            self.market_id,
            order_id,
            user_id,
            side,
            price,
            remaining,
            quote_remaining,
            reason,
            ts,
        )

    def _rejected(
        self, command: CommandKind, order_id: int, user_id: int, reason: RejectReason, ts: int
    ) -> Rejected:
        return Rejected(EventKind.REJECTED, self.market_id, command, order_id, user_id, reason, ts)
