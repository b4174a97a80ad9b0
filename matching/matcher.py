"""State and matching loop of the fast book; ``matching.book`` adds the public commands.

Layout: each side is a ``SortedDict`` from key to :class:`PriceLevel`, the key
being the price for asks and ``-price`` for bids, so "best first" is ascending
key order on both sides and one matching loop serves both. The best level of
each side is cached, which keeps the common place and cancel away from the
sorted map. An index maps order id to its record (``matching.orders``), and
another a user's resting orders, so cancelling all of them reads only
theirs. Each
side also keeps its total notional (``price * lots`` summed), so the door can
refuse an order that would take it past ``MAX_VALUE``; a side's lots are at most
its notional (every price is at least one tick), so that bounds them too.

The hot paths bind attributes and globals to locals and build events with
``tuple.__new__``: measured, not guessed (benchmarks/engine/README.md).
"""

from __future__ import annotations

from sortedcontainers import SortedDict

from matching import iceberg
from matching.events import Event
from matching.orders import OrderRecord, UserOrders
from matching.price_level import PriceLevel
from matching.types import (
    MAX_VALUE,
    CancelReason,
    CommandKind,
    EventKind,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

BUY = Side.BUY
SELL = Side.SELL
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
DEPTH = EventKind.DEPTH
CANCELLED = EventKind.CANCELLED
FILLED = EventKind.FILLED
_TRADE = EventKind.TRADE
_NEWEST = SelfTradePrevention.CANCEL_NEWEST
_OLDEST = SelfTradePrevention.CANCEL_OLDEST
_ALLOW = SelfTradePrevention.ALLOW
_SELF_TRADE = CancelReason.SELF_TRADE
_MARKET_REMAINDER = CancelReason.MARKET_REMAINDER
_INSUFFICIENT_FUNDS = CancelReason.INSUFFICIENT_FUNDS

# A market order's limit: above every key of either side.
NO_LIMIT = MAX_VALUE + 1
TRADE_SEQUENCE_BITS = 40


class MatchingCore:
    __slots__ = (
        "_ask_notional",
        "_asks",
        "_best_ask",
        "_best_bid",
        "_bid_notional",
        "_bids",
        "_by_user",
        "_icebergs",
        "_index",
        "_order_seq",
        "_trade_base",
        "_trade_seq",
        "market_id",
    )

    def __init__(self, market_id: int) -> None:
        self.market_id = market_id
        self._trade_base = market_id << TRADE_SEQUENCE_BITS
        self._trade_seq = 0
        self._order_seq = 0
        self._index: dict[int, OrderRecord] = {}
        # user id -> that user's resting orders; a user with none has no entry.
        self._by_user: dict[int, UserOrders] = {}
        self._icebergs: iceberg.Icebergs = {}  # order id -> [hidden, display] (matching.iceberg)
        self._bids: SortedDict[int, PriceLevel] = SortedDict()
        self._asks: SortedDict[int, PriceLevel] = SortedDict()
        self._best_bid: PriceLevel | None = None
        self._best_ask: PriceLevel | None = None
        # Resting notional per side: every level total (lots <= notional), and every
        # taker's proceeds, are at most these, which the door keeps within MAX_VALUE.
        self._bid_notional = 0
        self._ask_notional = 0

    # ------------------------------------------------------------ matching loop

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
        post_only: int,
        ts: int,
    ) -> None:
        """Run an accepted limit order: post-only and FOK checks, matching, then rest or end."""
        if side is BUY:
            best = self._best_ask
            bound = price
        else:
            best = self._best_bid
            bound = -price
        if best is not None and best.key <= bound:
            if post_only:
                reason = CancelReason.POST_ONLY_WOULD_CROSS
                self._end(events, order_id, user_id, side, price, remaining, reason, ts)
                return
            if tif is FOK:
                unfillable = self._unfillable(side, bound, remaining, user_id, stp, None)
                if unfillable is not None:
                    self._end(events, order_id, user_id, side, price, remaining, unfillable, ts)
                    return
            remaining, _, self_traded = self._match(
                events, order_id, user_id, side, bound, remaining, None, stp, ts
            )
            if not remaining:
                events.append((FILLED, self.market_id, order_id, user_id, side, None, ts))
                return
            if self_traded:
                self._end(events, order_id, user_id, side, price, remaining, _SELF_TRADE, ts)
                return
        if tif is GTC:
            self._rest(events, order_id, user_id, side, price, qty, remaining, stp, post_only, ts)
            return
        reason = CancelReason.IOC_REMAINDER if tif is IOC else CancelReason.FOK_UNFILLABLE
        self._end(events, order_id, user_id, side, price, remaining, reason, ts)

    def _market(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        tif: TimeInForce,
        qty: int,
        budget: int | None,
        spend: int | None,
        stp: SelfTradePrevention,
        ts: int,
    ) -> None:
        """Run an accepted market order to its end: by lots, or by quote ``budget``.

        ``spend`` caps what a buy by lots may pay (its hold, in quote units): the
        order stops before the lot that would pass it and keeps its real size,
        so what is left ends ``Cancelled(INSUFFICIENT_FUNDS)``.
        """
        market = self.market_id
        if budget is not None:
            _, left, self_traded = self._match(
                events, order_id, user_id, side, NO_LIMIT, NO_LIMIT, budget, stp, ts
            )
            assert left is not None
            # Filled when it bought something and what is left buys less than one lot at
            # the best ask (matching stops short of that only on a self-trade or when the
            # asks run out); having bought nothing is never "filled".
            if self_traded:
                reason = _SELF_TRADE
            elif left == budget or (left and self._best_ask is None):
                reason = _MARKET_REMAINDER
            else:
                events.append((FILLED, market, order_id, user_id, side, left, ts))
                return
            events.append((CANCELLED, market, order_id, user_id, side, None, 0, left, reason, ts))
            return
        if tif is FOK:
            unfillable = self._unfillable(side, NO_LIMIT, qty, user_id, stp, spend)
            if unfillable is not None:
                self._end(events, order_id, user_id, side, None, qty, unfillable, ts)
                return
        remaining, _, self_traded = self._match(
            events, order_id, user_id, side, NO_LIMIT, qty, spend, stp, ts
        )
        if not remaining:
            events.append((FILLED, market, order_id, user_id, side, None, ts))
            return
        if self_traded:
            reason = _SELF_TRADE
        elif (self._best_ask if side is BUY else self._best_bid) is None:
            reason = _MARKET_REMAINDER
        else:  # matching stops short of a dry book only at the spend cap
            reason = _INSUFFICIENT_FUNDS
        events.append((CANCELLED, market, order_id, user_id, side, None, remaining, None, reason, ts))

    def _match(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        bound: int,
        remaining: int,
        budget: int | None,
        stp: SelfTradePrevention,
        ts: int,
    ) -> tuple[int, int | None, bool]:
        """Trade against the other side while its best level's key is within ``bound``.

        ``budget`` is set for a market buy by quote amount (``remaining`` is then
        NO_LIMIT) or with a spend cap: each level then caps the size at what the
        budget buys there. Returns the taker's remaining lots, remaining budget
        and whether self-trade prevention stopped it.
        """
        append = events.append
        index = self._index
        by_user = self._by_user
        market = self.market_id
        trade_base = self._trade_base
        seq = self._trade_seq
        if side is BUY:
            levels = self._asks
            level = self._best_ask
            maker_side = SELL
        else:
            levels = self._bids
            level = self._best_bid
            maker_side = BUY
        check_self = stp != _ALLOW
        icebergs = self._icebergs
        hidden = 0
        self_traded = False
        cap = unoffered = 0
        notional_out = 0  # what left the maker side: traded, or cancelled as a self-trade
        while level is not None and level.key <= bound:
            price = level.price
            if budget is not None:
                cap = budget // price
                if cap > remaining:
                    cap = remaining
                if not cap:
                    break
                unoffered = remaining - cap
                remaining = cap
            orders = level.orders
            before = total = level.total
            while orders:
                maker = orders[0]
                maker_left = maker.remaining
                if not maker_left:
                    orders.popleft()
                    level.dead -= 1
                    continue
                if check_self and maker.user_id == user_id:
                    if stp != _NEWEST:
                        orders.popleft()
                        del index[maker.order_id]
                        self._forget(user_id)
                        maker.remaining = 0
                        total -= maker_left
                        hidden = iceberg.take_reserve(icebergs, maker.order_id) if icebergs else 0
                        append(
                            (
                                CANCELLED,
                                market,
                                maker.order_id,
                                user_id,
                                maker_side,
                                price,
                                maker_left + hidden,
                                None,
                                _SELF_TRADE,
                                ts,
                            )
                        )
                        if stp == _OLDEST:
                            continue
                    self_traded = True
                    break
                seq += 1
                if remaining < maker_left:
                    maker_left -= remaining
                    maker.remaining = maker_left
                    total -= remaining
                    if icebergs:
                        hidden = iceberg.hidden_of(icebergs, maker.order_id)
                    append(
                        (
                            _TRADE,
                            market,
                            trade_base | seq,
                            maker.order_id,
                            maker.user_id,
                            order_id,
                            user_id,
                            side,
                            price,
                            remaining,
                            maker_left + hidden if icebergs else maker_left,
                            ts,
                        )
                    )
                    remaining = 0
                    break
                remaining -= maker_left
                maker.remaining = 0
                orders.popleft()
                maker_id = maker.order_id
                total -= maker_left
                # An iceberg refills at the back of this level instead of being filled.
                refills = icebergs and maker_id in icebergs
                append(
                    (
                        _TRADE,
                        market,
                        trade_base | seq,
                        maker_id,
                        maker.user_id,
                        order_id,
                        user_id,
                        side,
                        price,
                        maker_left,
                        icebergs[maker_id][iceberg.HIDDEN] if refills else 0,
                        ts,
                    )
                )
                if refills:
                    self._order_seq += 1
                    refill = iceberg.refresh(icebergs, level, maker, self._order_seq, events, ts, market)
                    index[maker_id] = refill
                    by_user[maker.user_id].add(refill)
                    total += refill.remaining
                    if not remaining:
                        break
                    continue
                del index[maker_id]
                maker_orders = by_user[maker.user_id]
                maker_orders.live -= 1
                if not maker_orders.live:
                    del by_user[maker.user_id]
                append((FILLED, market, maker_id, maker.user_id, maker_side, None, ts))
                if not remaining:
                    break
            level.total = total
            if budget is not None:
                budget -= (cap - remaining) * price
                remaining += unoffered
            if total != before:
                notional_out += (before - total) * price
                append((DEPTH, market, maker_side, price, total, ts))
            if not total:
                del levels[level.key]
                level = levels.peekitem(0)[1] if levels else None
            if self_traded or not remaining:
                break
        if side is BUY:
            self._best_ask = level
            self._ask_notional -= notional_out
        else:
            self._best_bid = level
            self._bid_notional -= notional_out
        self._trade_seq = seq
        return remaining, budget, self_traded

    def _unfillable(
        self, side: Side, bound: int, qty: int, user_id: int, stp: int, spend: int | None
    ) -> CancelReason | None:
        """Why a FOK taker would not fill completely, or None when it would.

        Walks the crossing liquidity as matching would: self-trade prevention
        counts the same way, and a spend cap pays for the cheapest lots first.
        """
        available = cost = 0
        for level in (self._asks if side is BUY else self._bids).values():
            if level.key > bound:
                break
            blocked = False
            if stp == _ALLOW:
                take = level.total
            else:
                take = 0
                for maker in level.orders:
                    maker_left = maker.remaining
                    if not maker_left:
                        continue
                    if maker.user_id == user_id:
                        if stp == _OLDEST:
                            continue
                        # The taker would be cancelled here, before reaching anything deeper.
                        blocked = True
                        break
                    take += maker_left
                    if available + take >= qty:
                        break
            take = min(take, qty - available)
            available += take
            cost += take * level.price
            if available == qty:
                return None if spend is None or cost <= spend else _INSUFFICIENT_FUNDS
            if blocked:
                break
        return CancelReason.FOK_UNFILLABLE

    # ------------------------------------------------------------------- helpers

    def _rest(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        price: int,
        qty: int,
        remaining: int,
        stp: SelfTradePrevention,
        post_only: int,
        ts: int,
    ) -> None:
        level = (self._bids if side is BUY else self._asks).get(-price if side is BUY else price)
        if level is None:
            level = self._add_level(side, price)
        self._order_seq += 1
        record = OrderRecord(order_id, user_id, side, price, qty, remaining, stp, self._order_seq, post_only)
        level.orders.append(record)
        level.total += remaining
        self._index[order_id] = record
        self._remember(record)
        if side is BUY:
            self._bid_notional += remaining * price
        else:
            self._ask_notional += remaining * price
        events.append((DEPTH, self.market_id, side, price, level.total, ts))

    def _add_level(self, side: Side, price: int) -> PriceLevel:
        if side is BUY:
            level = PriceLevel(-price, price)
            self._bids[-price] = level
            if self._best_bid is None or price > self._best_bid.price:
                self._best_bid = level
        else:
            level = PriceLevel(price, price)
            self._asks[price] = level
            if self._best_ask is None or price < self._best_ask.price:
                self._best_ask = level
        return level

    def _unrest(self, record: OrderRecord) -> PriceLevel:
        """Take a resting order out of its level and the index; drop the level if emptied."""
        order_id = record.order_id
        del self._index[order_id]
        self._forget(record.user_id)
        remaining = record.remaining
        record.remaining = 0
        if record.side == BUY:
            levels = self._bids
            key = -record.price
            self._bid_notional -= remaining * record.price
        else:
            levels = self._asks
            key = record.price
            self._ask_notional -= remaining * record.price
        level: PriceLevel = levels[key]
        level.total -= remaining
        if level.total:
            level.unlink(record)
            return level
        del levels[key]
        if level is self._best_bid:
            self._best_bid = levels.peekitem(0)[1] if levels else None
        elif level is self._best_ask:
            self._best_ask = levels.peekitem(0)[1] if levels else None
        return level

    def _remember(self, record: OrderRecord) -> None:
        mine = self._by_user.get(record.user_id)
        if mine is None:
            self._by_user[record.user_id] = UserOrders(record)
        else:
            mine.live += 1
            mine.add(record)

    def _forget(self, user_id: int) -> None:
        """One of the user's orders left the book (its record's remaining is 0, or is about to be)."""
        mine = self._by_user[user_id]
        mine.live -= 1
        if not mine.live:
            del self._by_user[user_id]

    def _side_fits(self, side: int, notional: int) -> bool:
        """Would the side still total at most MAX_VALUE notional (so lots) with this much more?"""
        if side == BUY:
            return self._bid_notional + notional <= MAX_VALUE
        return self._ask_notional + notional <= MAX_VALUE

    def _crosses(self, side: int, price: int) -> bool:
        if side == BUY:
            return self._best_ask is not None and self._best_ask.price <= price
        return self._best_bid is not None and self._best_bid.price >= price

    def _end(
        self,
        events: list[Event],
        order_id: int,
        user_id: int,
        side: Side,
        price: int | None,
        remaining: int,
        reason: CancelReason,
        ts: int,
    ) -> None:
        ended = (CANCELLED, self.market_id, order_id, user_id, side, price, remaining, None, reason, ts)
        events.append(ended)

    def _reject(
        self, command: CommandKind, order_id: int, user_id: int, reason: RejectReason, ts: int
    ) -> list[Event]:
        rejected = (EventKind.REJECTED, self.market_id, command, order_id, user_id, reason, ts)
        return [rejected]

    def _records_in_priority(self) -> list[OrderRecord]:
        records: list[OrderRecord] = []
        for levels in (self._bids, self._asks):
            for level in levels.values():
                records.extend(level.live())
        return records
