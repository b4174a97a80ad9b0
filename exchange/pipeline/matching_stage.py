"""The matching stage: the one writer of its markets' books, orders and trades.

Commands arrive from the accounts stage with their funds already held. The
engine (matching/) turns each into events; this module turns events into
order and trade rows, settlements for the accounts stage of each user
involved, and updates for traders and market data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, Context, Decimal, localcontext
from typing import Any

from exchange.models import Order, OrderJourney, Trade
from exchange.pipeline import settlements
from exchange.pipeline.candles import CandleWriter
from exchange.pipeline.grid import MarketGrid
from exchange.pipeline.journey import JOURNEY_FIELDS, Journeys
from exchange.pipeline.keys import ShardKeys
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.messages import MalformedEntry, optional_decimal, require_int, require_str
from exchange.pipeline.metrics import MarketCounters
from exchange.pipeline.order_state import ORDER_FIELDS, OrderState
from exchange.pipeline.outbox import Outbox, ReplayFilter, UserChannels, apply_groups
from matching import (
    MAX_VALUE,
    CancelReason,
    EventKind,
    OrderBook,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    to_lots,
    to_ticks,
)
from matching.events import view
from persistence.write_buffer import WriteBuffer

STORAGE_STEP = Decimal("1e-18")
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
TYPES = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LIMIT": OrderType.LIMIT,
    "STOP_MARKET": OrderType.MARKET,
}
TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "GTD": TimeInForce.GTC}
STPS = {mode.name: mode for mode in SelfTradePrevention}
# Cancels the trader asked for (or self-trade prevention did) are CANCELED;
# orders that ended for any other reason (time in force, post-only, a market order
# left unfilled by the book or by its funds) are EXPIRED.
CANCELED_REASONS = {CancelReason.USER, CancelReason.SELF_TRADE}
# The columns of a trade's row, in the order `_trade` gives them.
TRADE_FIELDS = (
    "id",
    "market_id",
    "price",
    "quantity",
    "quote_quantity",
    "taker_side",
    "maker_order_id",
    "taker_order_id",
    "maker_user_id",
    "taker_user_id",
    "maker_fee",
    "maker_fee_asset_id",
    "taker_fee",
    "taker_fee_asset_id",
    "executed_at",
)


def spendable_units(amount: Decimal, rules: MarketRules) -> int:
    """What a market buy may pay of ``amount``, in the engine's quote units (tick x lot), rounded down.

    The taker fee is kept out, so that spend plus fee fits the hold.
    """
    # Wide enough that rounding the quotients cannot carry the floor up to the next unit.
    with localcontext(Context(prec=80)):
        budget = amount / (1 + rules.taker_fee_rate)
        units = int((budget / (rules.tick_size * rules.lot_size)).to_integral_value(ROUND_FLOOR))
    return max(units, 0)


class MatchingStage:
    def __init__(
        self,
        shard: int,
        markets: dict[str, MarketRules],
        books: dict[str, OrderBook],
        orders: dict[int, OrderState],
        buffer: WriteBuffer,
        outbox: Outbox,
        accounts_stream_of: Callable[[int], str],
        fee_user_id: int,
        keys: ShardKeys,
        channel_prefix: str,
        load_markets: Callable[[], dict[str, MarketRules]] = dict,
    ) -> None:
        self.load_markets = load_markets
        self.shard = shard
        self.markets = markets
        self.books = books
        self.orders = orders
        self.buffer = buffer
        self.outbox = outbox
        self.accounts_stream_of = accounts_stream_of
        self.fee_user_id = fee_user_id
        self.keys = keys
        self.channel_prefix = channel_prefix
        self.replays = ReplayFilter(buffer.position.producer_sequences)
        self._order_rows = buffer.table(Order, ORDER_FIELDS, upsert=True)
        self._trade_rows = buffer.table(Trade, TRADE_FIELDS)
        self._candles = CandleWriter(buffer)
        # symbol -> (side, price ticks) -> new level total, for this batch's depth update
        self.depth_changes: dict[str, dict[tuple[int, int], int]] = {}
        self.market_events: list[dict[str, Any]] = []
        self._changed_orders: dict[int, OrderState] = {}
        self._channels = UserChannels(channel_prefix)
        self._traded: dict[int, OrderState] = {}  # filled by the command being applied, update not yet sent
        self._by_market_id = {rules.market_id: rules for rules in markets.values()}
        self._grids = {
            symbol: MarketGrid(rules.tick_size, rules.lot_size) for symbol, rules in markets.items()
        }
        self._now = datetime.fromtimestamp(0, UTC)
        self._ts = 0
        self._entry_ms = 0
        self._counters: dict[str, MarketCounters] = {}
        self.journeys = Journeys()
        self._journey_rows = buffer.table(OrderJourney, JOURNEY_FIELDS, key=("order_id",), upsert=True)
        self._in_us = self._forwarded_us = 0
        # The earliest expire time of any good-till-date order on this shard (None: none rests).
        self.soonest_expiry: int | None = self._soonest_expiry()

    # ------------------------------------------------------------- dispatch

    def handle(self, entry_id: str, message: dict[str, Any]) -> None:
        if message["t"] != "batch":
            raise MalformedEntry(f"unknown command type {message['t']!r}")
        # The time of a command that carries none (sent by an earlier version): its batch's, not 0.
        self._entry_ms = int(entry_id.partition("-")[0])
        # The order's journey: when accounts sent this entry, and when matching takes it up (us).
        self._in_us = time.time_ns() // 1000
        forwarded_us = message.get("o")
        self._forwarded_us = forwarded_us if type(forwarded_us) is int else 0
        try:
            apply_groups(message, self.replays, self._handle_group)
        finally:
            self._write_orders()

    def write_journeys(self) -> int:
        """The journeys committed since the last call, into the batch being collected."""
        return self.journeys.write(self._journey_rows.add)

    def _write_orders(self) -> None:
        """Each order an entry changed, once, in its final state (an order changes ~3 times an entry)."""
        add = self._order_rows.add
        for order in self._changed_orders.values():
            add(order.row())
        self._changed_orders.clear()

    def _handle_group(self, commands: list[Any]) -> None:
        for command in commands:
            if not isinstance(command, dict):
                raise MalformedEntry("a command must be an object")
            kind = command.get("t")
            # Every command carries the time the exchange accepted it; its rows and updates take that time.
            ts = command.get("ts", self._entry_ms)
            if ts != self._ts:  # commands of one millisecond share their time
                if type(ts) is not int:
                    raise MalformedEntry("'ts' must be an integer")
                self._ts = ts
                self._now = datetime.fromtimestamp(ts / 1000, UTC)
            if self.soonest_expiry is not None and self._ts >= self.soonest_expiry:
                self._expire_due()
            if kind == "place":
                self._place(command)
            elif kind == "cancel":
                book, rules = self._book(command)
                self._apply(
                    rules, book.cancel(require_int(command, "oid"), require_int(command, "uid"), self._ts)
                )
            elif kind == "cancel_all":
                book, rules = self._book(command)
                self._apply(rules, book.cancel_all(require_int(command, "uid"), self._ts))
            elif kind == "amend":
                self._amend(command)
            elif kind == "markets":
                self._reload_markets()
            elif kind == "clock":
                pass  # a timer's tick: its time, above, expired what was due (ADR 0013)
            else:
                raise MalformedEntry(f"unknown matching command {kind!r}")

    def _expire_due(self) -> None:
        """End the good-till-date orders due by this command's time, before the command runs.

        Derived from command times alone, so a replay expires the same orders at
        the same point; with no commands the worker's timer writes a "clock" command.
        """
        for symbol, book in self.books.items():
            due = book.next_expiry()
            if due is not None and due <= self._ts:
                self._apply(self.markets[symbol], book.expire(self._ts))
        self.soonest_expiry = self._soonest_expiry()

    def _soonest_expiry(self) -> int | None:
        times = [t for t in (book.next_expiry() for book in self.books.values()) if t is not None]
        return min(times, default=None)

    def _reload_markets(self) -> None:
        """New fees and new markets of this shard; a market's tick and lot never change."""
        for symbol, rules in self.load_markets().items():
            if symbol not in self.books:
                self.books[symbol] = OrderBook(rules.market_id)
            if symbol not in self._grids:
                self._grids[symbol] = MarketGrid(rules.tick_size, rules.lot_size)
            self.markets[symbol] = rules
            self._by_market_id[rules.market_id] = rules

    def _book(self, command: dict[str, Any]) -> tuple[OrderBook, MarketRules]:
        symbol = require_str(command, "m")
        rules = self.markets.get(symbol)
        if rules is None:
            raise MalformedEntry(f"market {symbol!r} is not on matching shard {self.shard}")
        return self.books[symbol], rules

    # ------------------------------------------------------------- commands

    def _place(self, command: dict[str, Any]) -> None:
        book, rules = self._book(command)
        grid = self._grids[rules.symbol]
        price_text, quantity_text = command.get("px"), command.get("qty")
        price_value, price = (None, None) if price_text is None else grid.price_from_text(price_text, "px")
        quantity_value, quantity = (
            (None, None) if quantity_text is None else grid.quantity_from_text(quantity_text, "qty")
        )
        order = OrderState.from_command(command, rules, self._now, price_value, quantity_value)
        # Updates read price and size at the market's grid, as fills and trades do, and as an order
        # loaded after a restart reads (loading.py): "100.00" for a price sent as "100".
        if price is not None:
            order.price_text = grid.price(price)[1]
        if quantity is not None:
            order.quantity_text = grid.quantity(quantity)[1]
        if order.order_id in self.orders:
            # Replays are filtered by producer sequence; a second place of a
            # live id can only be a forged entry, and must not touch the first.
            raise MalformedEntry(f"order {order.order_id} is already open")
        self.orders[order.order_id] = order
        taken_us = command.get("ai")
        self.journeys.placed.append(
            (
                order.order_id,
                self._ts,
                taken_us if type(taken_us) is int else 0,
                self._forwarded_us,
                self._in_us,
            )
        )
        quote_units = spend_units = None
        if order.quote_quantity is not None:
            quote_units = spendable_units(order.quote_quantity, rules)
        elif order.type == "MARKET" and order.side == "BUY":
            # Its hold is all the buyer's available quote: the engine stops where that runs out,
            # and the order keeps its size, so what it could not pay for ends INSUFFICIENT_FUNDS.
            # No side of a book holds more than MAX_VALUE notional, so the cap loses nothing.
            spend_units = min(
                spendable_units(optional_decimal(command, "hold") or Decimal(0), rules), MAX_VALUE
            )
        if (order.price is not None and price is None) or (order.quantity is not None and quantity is None):
            self._end(order, rules, "REJECTED", "OFF_GRID")
            return
        if order.stop_price is not None or order.expire_at is not None or order.display_quantity is not None:
            events = self._place_special(book, order, grid, price, quantity, quote_units)
        else:
            events = book.place(
                order.order_id,
                order.user_id,
                SIDES[order.side],
                TYPES[order.type],
                TIFS[order.time_in_force],
                price,
                quantity,
                quote_units,
                order.post_only,
                STPS[order.stp],
                self._ts,
                spend_units,
            )
        self._apply(rules, events)

    def _place_special(
        self,
        book: OrderBook,
        order: OrderState,
        grid: MarketGrid,
        price: int | None,
        quantity: int | None,
        quote_units: int | None,
    ) -> list[Any]:
        """A stop, good-till-date or iceberg order (docs/adr/0013-stop-gtd-iceberg.md)."""
        if order.stop_price is not None:
            stop = grid.price_from_text(str(order.stop_price), "sp")[1]
            return book.place_stop(
                order.order_id,
                order.user_id,
                SIDES[order.side],
                TYPES[order.type],
                TIFS[order.time_in_force],
                price,
                quantity,
                stop if stop is not None else 0,
                quote_units,
                order.post_only,
                STPS[order.stp],
                self._ts,
            )
        display = None
        if order.display_quantity is not None:
            display = grid.quantity_from_text(str(order.display_quantity), "dq")[1]
            order.hidden_quantity = Decimal(0)
        expire_ms = order.expire_at_ms
        events = book.place_limit(
            order.order_id,
            order.user_id,
            SIDES[order.side],
            price if price is not None else 0,
            quantity if quantity is not None else 0,
            display,
            expire_ms,
            order.post_only,
            STPS[order.stp],
            self._ts,
        )
        if display is not None and order.order_id in book.open_orders:
            order.hidden_quantity = grid.quantity(book.reserve_of(order.order_id))[0]
        if expire_ms is not None and (self.soonest_expiry is None or expire_ms < self.soonest_expiry):
            self.soonest_expiry = expire_ms
        return events

    def _amend(self, command: dict[str, Any]) -> None:
        book, rules = self._book(command)
        new_quantity = optional_decimal(command, "qty")
        new_price = optional_decimal(command, "px")
        events = book.amend(
            require_int(command, "oid"),
            require_int(command, "uid"),
            to_lots(new_quantity, rules.lot_size) if new_quantity is not None else None,
            to_ticks(new_price, rules.tick_size) if new_price is not None else None,
            self._ts,
        )
        self._apply(rules, events)
        self._answer_amend(command)

    def _answer_amend(self, command: dict[str, Any]) -> None:
        """Tell the accounts stage where an amend it numbered left the order, taken or refused.

        It held for the most the order could spend whatever the engine did;
        with the answer it keeps only what the open part may spend. An order
        the amend ended (or that had ended) is settled by its "done" instead.
        """
        number = command.get("n")
        order = self.orders.get(require_int(command, "oid"))
        if type(number) is not int or order is None or order.price is None or order.quantity is None:
            return
        self._settle(
            order.user_id,
            settlements.amended(
                order.order_id,
                order.user_id,
                number,
                str(order.price),
                str(order.quantity),
                str(order.quantity - order.executed_quantity),
            ),
        )

    # --------------------------------------------------------------- events

    def _apply(self, rules: MarketRules, events: list[Any]) -> None:
        """One engine command's events; an order its trades changed gets one update, in its final state."""
        try:
            for raw in events:
                self._apply_event(rules, raw)
        finally:  # what did change is told even if a later event of the command could not be applied
            for order in self._traded.values():  # still open after the command: partially filled
                self._publish(order.user_id, order.update())
            self._traded.clear()

    def _apply_event(self, rules: MarketRules, raw: Any) -> None:
        """One engine event, a plain tuple laid out as its view in matching.events.

        The frequent kinds are read by position (a view costs more than the
        rest of an ACCEPTED's handling); the others through their view.
        """
        kind = raw[0]
        if kind is EventKind.DEPTH:  # (kind, market, side, price ticks, total lots, ts)
            self.depth_changes.setdefault(rules.symbol, {})[(raw[2], raw[3])] = raw[4]
        elif kind is EventKind.TRADE:
            self._trade(rules, raw)
        elif kind is EventKind.ACCEPTED:  # (kind, market, order id, user, side, type, tif, price, ...)
            if raw[13] is not None:  # rested at once: its level's new total, as a DEPTH would give it
                self.depth_changes.setdefault(rules.symbol, {})[(raw[4], raw[7])] = raw[13]
            order = self.orders[raw[2]]
            order.engine_sequence = self._next_engine_sequence()
            self._counters_of(rules.symbol).accepted[order.side].inc()
            self._save(order)
        elif kind is EventKind.FILLED:  # (kind, market, order id, ...)
            self._end(self.orders[raw[2]], rules, "FILLED", "")
        else:
            event: Any = view(raw)
            if kind is EventKind.CANCELLED:
                order = self.orders[event.order_id]
                status = "CANCELED" if event.reason in CANCELED_REASONS else "EXPIRED"
                reason = "" if event.reason is CancelReason.USER else event.reason.name
                self._end(order, rules, status, reason)
            elif kind is EventKind.REJECTED:
                self._rejected(rules, event)
            elif kind is EventKind.AMENDED:
                self._amended(rules, event)
            elif kind is EventKind.STOP_ACCEPTED:
                order = self.orders[event.order_id]
                # Pending stops trigger oldest first: a restart must queue them as the book did.
                order.engine_sequence = self._next_engine_sequence()
                self._save(order)
            elif kind is EventKind.TRIGGERED:
                self._triggered(event)
            elif kind is EventKind.REFRESHED:
                order = self.orders[event.order_id]
                order.hidden_quantity = self._grids[rules.symbol].quantity(event.hidden_lots)[0]
                # The new visible part queues at the back: a restart must rebuild it there.
                order.engine_sequence = self._next_engine_sequence()
                order.updated_at = self._now
                self._changed_orders[order.order_id] = order

    def _trade(self, rules: MarketRules, raw: Any) -> None:
        # Laid out as matching.events.Trade.
        _, _, trade_id, maker_order_id, _, taker_order_id, _, _, price_ticks, qty_lots, _, _ = raw
        grid = self._grids[rules.symbol]
        price, price_text = grid.price(price_ticks)
        quantity, quantity_text = grid.quantity(qty_lots)
        notional = price * quantity
        maker_fee = (notional * rules.maker_fee_rate).quantize(STORAGE_STEP, rounding=ROUND_DOWN)
        if rules.taker_fee_rate == rules.maker_fee_rate:
            taker_fee = maker_fee
        else:
            taker_fee = (notional * rules.taker_fee_rate).quantize(STORAGE_STEP, rounding=ROUND_DOWN)
        maker = self.orders[maker_order_id]
        taker = self.orders[taker_order_id]
        self._trade_rows.add(
            (
                trade_id,
                rules.market_id,
                price,
                quantity,
                notional,
                taker.side,
                maker.order_id,
                taker.order_id,
                maker.user_id,
                taker.user_id,
                maker_fee,
                rules.quote_asset_id,
                taker_fee,
                rules.quote_asset_id,
                self._now,
            )
        )
        self._candles.add(
            rules.market_id, self._now, price, quantity, notional, taker.side == "BUY", trade_id
        )
        # Each amount's text once: they go into two settlements, two fills and the trade event.
        notional_text = str(notional)
        maker_fee_text = str(maker_fee)
        taker_fee_text = maker_fee_text if taker_fee is maker_fee else str(taker_fee)
        trade_id_text = str(trade_id)  # ids past 2^53 lose digits as JSON numbers: strings on the wire
        for order, fee_text, role in ((maker, maker_fee_text, "maker"), (taker, taker_fee_text, "taker")):
            order.fill(quantity, notional, self._now)
            # Its row now; its update once the command's events are through (it may fill completely).
            self._changed_orders[order.order_id] = order
            self._traded[order.order_id] = order
            self._settle(
                order.user_id,
                settlements.fill(
                    order.order_id,
                    order.user_id,
                    trade_id,
                    rules.symbol,
                    order.side,
                    quantity_text,
                    notional_text,
                    fee_text,
                ),
            )
            self._publish(
                order.user_id,
                {
                    "type": "fill",
                    "trade_id": trade_id_text,
                    "order_id": str(order.order_id),
                    "client_order_id": order.client_order_id,
                    "symbol": rules.symbol,
                    "side": order.side,
                    "role": role,
                    "price": price_text,
                    "quantity": quantity_text,
                    "fee": fee_text,
                    "fee_asset": rules.quote,
                    "ts": self._ts,
                },
            )
        counters = self._counters_of(rules.symbol)
        counters.trades.inc()
        counters.base.inc(float(quantity))
        counters.quote.inc(float(notional))
        if maker_fee or taker_fee:
            self._settle(
                self.fee_user_id,
                settlements.fee(self.fee_user_id, rules.quote, str(maker_fee + taker_fee), trade_id),
            )
        self.market_events.append(
            {
                "type": "trade",
                "symbol": rules.symbol,
                "trade_id": trade_id_text,
                "price": price_text,
                "quantity": quantity_text,
                "taker_side": taker.side,
                "ts": self._ts,
            }
        )

    def _rejected(self, rules: MarketRules, event: Any) -> None:
        order = self.orders.get(event.order_id)
        if event.command.name == "PLACE" and order is not None and order.status == "PENDING":
            self._end(order, rules, "REJECTED", event.reason.name)
            return
        self._publish(
            event.user_id,
            {
                "type": f"{event.command.name.lower()}_rejected",
                "order_id": str(event.order_id),
                "reason": event.reason.name,
            },
        )

    def _triggered(self, event: Any) -> None:
        """A stop order's trigger was reached: say so, then it is placed like a new order (PENDING again)."""
        order = self.orders[event.order_id]
        order.triggered_at = order.updated_at = self._now
        self._changed_orders[order.order_id] = order
        self._publish(order.user_id, {**order.update(), "status": "TRIGGERED"})
        order.status = "PENDING"

    def _amended(self, rules: MarketRules, event: Any) -> None:
        order = self.orders[event.order_id]
        grid = self._grids[rules.symbol]
        order.price, order.price_text = grid.price(event.price_ticks)
        order.quantity, order.quantity_text = grid.quantity(event.qty_lots)
        if not event.priority_kept:
            order.engine_sequence = self._next_engine_sequence()
        order.updated_at = self._now
        self._save(order)

    # -------------------------------------------------------------- helpers

    def _end(self, order: OrderState, rules: MarketRules, status: str, reason: str) -> None:
        order.finish(status, reason, self._now)
        self._save(order)
        self.orders.pop(order.order_id, None)
        self._settle(order.user_id, settlements.done(order.order_id, order.user_id))

    def _save(self, order: OrderState) -> None:
        if order.status == "PENDING":
            order.status = "NEW"
        self._changed_orders[order.order_id] = order
        self._traded.pop(order.order_id, None)  # this update carries its fills
        self._publish(order.user_id, order.update())

    def _settle(self, user_id: int, item: list[Any]) -> None:
        self.outbox.send(self.accounts_stream_of(user_id), item)

    def _publish(self, user_id: int, payload: dict[str, Any]) -> None:
        """An update for a trader, stamped with the time of the command that caused it (ms)."""
        payload["ts"] = self._ts
        self.outbox.publish(self._channels[user_id], payload)

    def _counters_of(self, symbol: str) -> MarketCounters:
        counters = self._counters.get(symbol)
        if counters is None:
            counters = self._counters[symbol] = MarketCounters(symbol)
        return counters

    def _next_engine_sequence(self) -> int:
        counters = self.buffer.position.counters
        counters["engine"] = counters.get("engine", 0) + 1
        return counters["engine"]
