"""The accounts stage: the one writer of its users' balances.

It holds funds before an order may reach the book, rejects what cannot be
paid for, forwards accepted commands to the matching shard of the market,
and applies what matching settles back. Its decisions depend only on its
input stream and the state loaded at start, so a replay decides the same.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_UP, Decimal
from typing import Any

from exchange.models import Balance, LedgerEntry, Order, OrderHold
from exchange.pipeline import settlements
from exchange.pipeline.client_order_ids import RecentClientOrderIds
from exchange.pipeline.ids import EntryIdOutOfRange, order_id_for, parse_entry_id
from exchange.pipeline.keys import ShardKeys
from exchange.pipeline.keys import matching_keys as matching_keys_for
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.messages import (
    MalformedEntry,
    optional_decimal,
    require_decimal,
    require_int,
    require_str,
)
from exchange.pipeline.metrics import RecentUsers
from exchange.pipeline.outbox import Outbox, ReplayFilter, UserChannels, apply_groups
from exchange.pipeline.validation import (
    SELF_TRADE_MODES,
    SIDES,
    TIMES_IN_FORCE,
    TYPES,
    extras_problem,
    place_problem,
)
from persistence.write_buffer import WriteBuffer

logger = logging.getLogger(__name__)

STORAGE_STEP = Decimal("1e-18")
ZERO = Decimal(0)
MAX_AMOUNT = Decimal("1e18")
FUNDS_KINDS = ("DEPOSIT", "WITHDRAWAL", "ADJUSTMENT")

# The columns of the rows this stage writes, in the order their tuples give them.
LEDGER_FIELDS = (
    "id",
    "user_id",
    "asset_id",
    "kind",
    "available_delta",
    "locked_delta",
    "available_after",
    "locked_after",
    "fee",
    "order_id",
    "trade_id",
    "reference",
    "created_by_id",
    "created_at",
)
BALANCE_FIELDS = ("user_id", "asset_id", "available", "locked", "updated_at")
HOLD_FIELDS = (
    "order_id",
    "user_id",
    "asset_id",
    "market_symbol",
    "client_order_id",
    "remaining",
    "price",
    "quantity",
    "filled_when_sized",
    "amends_sent",
    "is_open",
    "updated_at",
)


@dataclass
class Hold:
    order_id: int
    user_id: int
    asset: str
    symbol: str
    client_order_id: str
    remaining: Decimal
    # The hold covers the open part at this price and size (total, filled
    # included) less what had filled when it was last sized exactly: what
    # an amend's extra hold is counted from (ADR 0003).
    price: Decimal | None
    quantity: Decimal | None
    filled_when_sized: Decimal = ZERO
    # Amends forwarded to matching; only the answer to the latest sizes the hold exactly.
    amends_sent: int = 0


@dataclass
class AccountsState:
    """What the stage keeps in memory, as loaded from the database."""

    balances: dict[tuple[int, str], list[Decimal]]  # (user, asset) -> [available, locked]
    holds: dict[int, Hold]  # open orders by id
    # Client order ids placed within the retry window (ADR 0015); those of the
    # open orders are in open_client_order_ids, kept with the holds.
    client_order_ids: RecentClientOrderIds
    users: set[int]
    asset_ids: dict[str, int]
    # Asked once for a user id the stage has not seen: users are made by the
    # admin at any time and never deleted, so the answer never changes.
    user_exists: Callable[[int], bool] = lambda user_id: False
    # user id -> market -> how many of the user's holds are in it, so a cancel-all
    # reads one user's markets instead of every hold of the shard.
    hold_markets: dict[int, Counter[str]] = field(init=False, default_factory=dict)
    open_client_order_ids: set[tuple[int, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        for hold in self.holds.values():
            self.hold_markets.setdefault(hold.user_id, Counter())[hold.symbol] += 1
            self.open_client_order_ids.add((hold.user_id, hold.client_order_id))

    def client_order_id_taken(self, key: tuple[int, str], now_ms: int) -> bool:
        """Whether a place of `key` at `now_ms` repeats an open order or one placed within the window."""
        return key in self.open_client_order_ids or self.client_order_ids.placed_within(key, now_ms)

    def add_hold(self, hold: Hold) -> None:
        self.holds[hold.order_id] = hold
        self.hold_markets.setdefault(hold.user_id, Counter())[hold.symbol] += 1
        self.open_client_order_ids.add((hold.user_id, hold.client_order_id))

    def pop_hold(self, order_id: int) -> Hold | None:
        hold = self.holds.pop(order_id, None)
        if hold is not None:
            self.open_client_order_ids.discard((hold.user_id, hold.client_order_id))
            markets = self.hold_markets[hold.user_id]
            markets[hold.symbol] -= 1
            if not markets[hold.symbol]:
                del markets[hold.symbol]
                if not markets:
                    del self.hold_markets[hold.user_id]
        return hold


class AccountsStage:
    def __init__(
        self,
        shard: int,
        markets: dict[str, MarketRules],
        state: AccountsState,
        buffer: WriteBuffer,
        outbox: Outbox,
        matching_keys: dict[int, ShardKeys],
        channel_prefix: str,
        load_markets: Callable[[], dict[str, MarketRules]] = dict,
    ) -> None:
        self.load_markets = load_markets
        self.shard = shard
        self.markets = markets
        self.state = state
        self.buffer = buffer
        self.outbox = outbox
        self.matching_keys = matching_keys
        self.channel_prefix = channel_prefix
        self.replays = ReplayFilter(buffer.position.producer_sequences)
        self._ledger = buffer.table(LedgerEntry, LEDGER_FIELDS)
        self._balances = buffer.table(Balance, BALANCE_FIELDS, key=("user_id", "asset_id"), upsert=True)
        self._holds = buffer.table(OrderHold, HOLD_FIELDS, key=("order_id",), upsert=True)
        self._touched: set[tuple[int, str]] = set()
        self.active_users = RecentUsers()
        self._channels = UserChannels(channel_prefix)
        # (fee account, asset) -> (total, first trade id, last trade id, trades) of the entry being applied
        self._fees: dict[tuple[int, str], tuple[Decimal, int, int, int]] = {}
        self._entry_id = "0-0"
        self._ms = 0
        self._now = datetime.fromtimestamp(0, UTC)
        self._commands: dict[str, Callable[[dict[str, Any]], None]] = {
            "place": self._place,
            "cancel": self._cancel,
            "cancel_all": self._cancel_all,
            "cancel_market": self._cancel_market,
            "amend": self._amend,
            "funds": self._funds,
            "batch": self._settle,
            "markets": lambda message: self._reload_markets(),
        }

    # ------------------------------------------------------------- dispatch

    def handle(self, entry_id: str, message: dict[str, Any]) -> None:
        """Apply one input entry. Raises MalformedEntry for what no stage can apply."""
        self._entry_id = entry_id
        millis = parse_entry_id(entry_id)[0]
        if millis != self._ms:  # entries of one millisecond share their time
            self._ms = millis
            self._now = datetime.fromtimestamp(millis / 1000, UTC)
        try:
            command = self._commands.get(message["t"])
            if command is None:
                raise MalformedEntry(f"unknown command type {message['t']!r}")
            command(message)
        finally:
            self._publish_balances()

    # ------------------------------------------------------------- commands

    def _place(self, message: dict[str, Any]) -> None:
        user_id = self._known_user(message)
        self.active_users.seen(user_id, self._ms)
        client_order_id = require_str(message, "cid")
        symbol = require_str(message, "m")
        if len(client_order_id) > 36:
            raise MalformedEntry("'cid' is longer than 36 characters")
        try:
            order_id = order_id_for(self._entry_id, self.shard)
        except EntryIdOutOfRange as exc:
            raise MalformedEntry(str(exc)) from None
        if self.state.client_order_id_taken((user_id, client_order_id), self._ms):
            # A retry that reached the stream twice (its Redis claim was lost),
            # or an id still naming an open order: the first order stands; this
            # one leaves no row.
            self._publish_order(
                user_id, order_id, client_order_id, symbol, "REJECTED", "DUPLICATE_CLIENT_ORDER_ID"
            )
            return
        order = {
            "side": message.get("side"),
            "type": message.get("type"),
            "tif": message.get("tif", "GTC"),
            "price": optional_decimal(message, "px"),
            "quantity": optional_decimal(message, "qty"),
            "quote_quantity": optional_decimal(message, "qq"),
            "post_only": bool(message.get("po", False)),
            "stp": message.get("stp", "CANCEL_NEWEST"),
        }
        rules = self.markets.get(symbol)
        problem = place_problem(
            rules,
            str(order["side"]),
            str(order["type"]),
            str(order["tif"]),
            order["price"],
            order["quantity"],
            order["quote_quantity"],
            order["post_only"],
            str(order["stp"]),
        )
        extras = {key: message[key] for key in ("sp", "exp", "dq") if message.get(key) is not None}
        if problem is None and rules is not None:
            problem = extras_problem(
                rules,
                str(order["side"]),
                str(order["type"]),
                str(order["tif"]),
                order["quantity"],
                order["quote_quantity"],
                optional_decimal(message, "sp"),
                message.get("exp"),
                optional_decimal(message, "dq"),
            )
        hold_asset, hold_amount = ("", ZERO)
        if problem is None and rules is not None:
            hold_asset, hold_amount = self._hold_needed(user_id, rules, order)
            if hold_amount <= 0 or self._balance(user_id, hold_asset)[0] < hold_amount:
                problem = "INSUFFICIENT_FUNDS"
        self.state.client_order_ids.add((user_id, client_order_id), self._ms)
        if problem is not None or rules is None:
            self._reject_order(order_id, user_id, client_order_id, symbol, rules, order, problem or "")
            return
        self._move(user_id, hold_asset, -hold_amount, hold_amount, "HOLD", order_id=order_id)
        hold = Hold(
            order_id,
            user_id,
            hold_asset,
            symbol,
            client_order_id,
            hold_amount,
            order["price"],
            order["quantity"],
        )
        self.state.add_hold(hold)
        self._save_hold(hold, is_open=True)
        self._forward(
            rules,
            {
                "t": "place",
                "oid": order_id,
                "uid": user_id,
                "cid": client_order_id,
                "m": symbol,
                "side": order["side"],
                "type": order["type"],
                "tif": order["tif"],
                # The texts as received: each was read as a decimal above, and matching reads them again.
                "px": message.get("px"),
                "qty": message.get("qty"),
                "qq": message.get("qq"),
                "po": order["post_only"],
                "stp": order["stp"],
                "hold": _text(hold_amount),
                "ai": time.time_ns() // 1000,  # taken up by accounts, us: the order's journey
                **extras,
            },
        )

    def _cancel(self, message: dict[str, Any]) -> None:
        user_id = self._known_user(message)
        order_id = require_int(message, "oid")
        hold = self.state.holds.get(order_id)
        if hold is None or hold.user_id != user_id:
            self._publish(
                user_id, {"type": "cancel_rejected", "order_id": str(order_id), "reason": "UNKNOWN_ORDER"}
            )
            return
        self._forward(
            self.markets[hold.symbol], {"t": "cancel", "oid": order_id, "uid": user_id, "m": hold.symbol}
        )

    def _cancel_all(self, message: dict[str, Any]) -> None:
        user_id = self._known_user(message)
        symbol = message.get("m") or ""
        symbols = sorted(self.state.hold_markets.get(user_id, ()))
        for each in symbols:
            if not symbol or each == symbol:
                self._forward(self.markets[each], {"t": "cancel_all", "uid": user_id, "m": each})

    def _cancel_market(self, message: dict[str, Any]) -> None:
        """An operator's kill switch: every order of this shard's users in one market.

        Sent to every accounts shard; each cancels what its holds name, so an
        order placed before it in the stream is cancelled too, even if no
        worker has written it to the database yet.
        """
        symbol = require_str(message, "m")
        rules = self.markets.get(symbol)
        if rules is None:
            return
        users = sorted({h.user_id for h in self.state.holds.values() if h.symbol == symbol})
        for user_id in users:
            self._forward(rules, {"t": "cancel_all", "uid": user_id, "m": symbol})

    def _amend(self, message: dict[str, Any]) -> None:
        user_id = self._known_user(message)
        order_id = require_int(message, "oid")
        new_quantity = optional_decimal(message, "qty")
        new_price = optional_decimal(message, "px")
        hold = self.state.holds.get(order_id)
        rules = self.markets.get(hold.symbol) if hold else None
        problem = None
        if hold is None or hold.user_id != user_id or rules is None or hold.price is None:
            problem = "UNKNOWN_ORDER"
        elif new_quantity is None and new_price is None:
            problem = "INVALID_AMEND"
        elif new_price is not None and (new_price <= 0 or new_price % rules.tick_size):
            problem = "PRICE_NOT_ON_TICK"
        elif new_quantity is not None and (new_quantity <= 0 or new_quantity % rules.lot_size):
            problem = "QUANTITY_NOT_ON_LOT"
        if problem is not None or hold is None or rules is None or hold.price is None:
            self._publish(user_id, {"type": "amend_rejected", "order_id": str(order_id), "reason": problem})
            return
        # Until matching answers, the hold covers the most the order can spend
        # in any state the engine may leave it in: the engine may refuse the
        # amend (a size below what has filled, say), and a buy's fills before
        # it were paid at the older price. So the bound is the highest price
        # and the largest size sent since the hold was last sized exactly, not
        # the latest; the answer to the latest amend releases the rest (ADR 0003).
        held_quantity = hold.quantity or ZERO
        price = hold.price if new_price is None else max(hold.price, new_price)
        quantity = held_quantity if new_quantity is None else max(held_quantity, new_quantity)
        if hold.asset == rules.quote:
            before = _limit_buy_hold(hold.price, held_quantity - hold.filled_when_sized, rules)
            extra = _limit_buy_hold(price, quantity - hold.filled_when_sized, rules) - before
        else:
            extra = quantity - held_quantity
        if extra > 0:
            if self._balance(user_id, hold.asset)[0] < extra:
                self._publish(
                    user_id,
                    {"type": "amend_rejected", "order_id": str(order_id), "reason": "INSUFFICIENT_FUNDS"},
                )
                return
            self._move(user_id, hold.asset, -extra, extra, "HOLD", order_id=order_id)
            hold.remaining += extra
        hold.price, hold.quantity = price, quantity
        hold.amends_sent += 1
        self._save_hold(hold, is_open=True)
        self._forward(
            rules,
            {
                "t": "amend",
                "oid": order_id,
                "uid": user_id,
                "m": hold.symbol,
                "qty": _text(new_quantity),
                "px": _text(new_price),
                "n": hold.amends_sent,  # matching answers with it (settlements.AMENDED)
            },
        )

    def _funds(self, message: dict[str, Any]) -> None:
        user_id = self._known_user(message)
        asset = require_str(message, "asset")
        kind = require_str(message, "kind")
        amount = require_decimal(message, "amount")
        if asset not in self.state.asset_ids or kind not in FUNDS_KINDS:
            raise MalformedEntry(f"unknown asset {asset!r} or kind {kind!r}")
        delta = {"DEPOSIT": amount, "WITHDRAWAL": -amount, "ADJUSTMENT": amount}[kind]
        if (kind != "ADJUSTMENT" and amount <= 0) or self._balance(user_id, asset)[0] + delta < 0:
            logger.warning(
                "accounts-%s refused %s of %s %s for user %s", self.shard, kind, amount, asset, user_id
            )
            self._publish(
                user_id, {"type": "funds_rejected", "asset": asset, "kind": kind, "amount": str(amount)}
            )
            return
        operator = message.get("op")
        self._move(
            user_id,
            asset,
            delta,
            ZERO,
            kind,
            reference=str(message.get("ref") or "")[:128],
            created_by=operator if isinstance(operator, int) else None,
        )

    def _reload_markets(self) -> None:
        self.markets = self.load_markets()
        for rules in self.markets.values():
            if rules.shard not in self.matching_keys:
                self.matching_keys[rules.shard] = matching_keys_for(rules.shard)
        for shard in sorted(self.matching_keys):
            self._send_to_matching(self.matching_keys[shard].stream, {"t": "markets"})

    # ----------------------------------------------------------- settlement

    def _settle(self, message: dict[str, Any]) -> None:
        try:
            apply_groups(message, self.replays, self._settle_group)
        finally:
            self._credit_fees()

    def _settle_group(self, items: list[Any]) -> None:
        for item in items:
            item = settlements.as_list(item)
            kind = item[0]
            if kind == settlements.FILL:
                self._fill(item)
            elif kind == settlements.DONE:
                self._done(item)
            elif kind == settlements.AMENDED:
                self._amended(item)
            else:
                self._fee(item)

    def _fill(self, item: list[Any]) -> None:
        """Two entries per side of a trade: the base and the quote, the fee folded into the quote one."""
        order_id, user_id, trade_id, symbol, side, base, quote, fee = settlements.read_fill(item)
        rules = self.markets.get(symbol)
        if rules is None:
            raise MalformedEntry(f"a fill in unknown market {symbol!r}")
        hold = self.state.holds.get(order_id)
        if side == "BUY":
            spent = quote + fee
            self._move(user_id, rules.quote, ZERO, -spent, "TRADE", order_id, trade_id, fee=fee)
            self._move(user_id, rules.base, base, ZERO, "TRADE", order_id, trade_id)
        else:
            spent = base
            self._move(user_id, rules.base, ZERO, -base, "TRADE", order_id, trade_id)
            self._move(user_id, rules.quote, quote - fee, ZERO, "TRADE", order_id, trade_id, fee=fee)
        if hold is not None:
            hold.remaining -= spent
            self._save_hold(hold, is_open=True)

    def _amended(self, item: list[Any]) -> None:
        """Matching's answer to an amend: after the latest one, hold what the open part may spend.

        The fills before the answer are all applied (they come first on this
        stream), and no later amend is on its way, so the order's price and
        open size are final until the next amend, which holds its extra again.
        """
        order_id, number, price, quantity, open_quantity = settlements.read_amended(item)
        hold = self.state.holds.get(order_id)
        if hold is None or number != hold.amends_sent:
            return  # the order has ended, or a later amend may still raise what it needs
        rules = self.markets.get(hold.symbol)
        if rules is None:
            return
        buys = hold.asset == rules.quote
        needed = _limit_buy_hold(price, open_quantity, rules) if buys else open_quantity
        if needed > hold.remaining:
            logger.warning(
                "accounts-%s: order %s needs %s %s, more than its hold of %s; left as it is",
                self.shard,
                order_id,
                needed,
                hold.asset,
                hold.remaining,
            )
            return
        surplus = hold.remaining - needed
        if surplus:
            self._move(hold.user_id, hold.asset, surplus, -surplus, "RELEASE", order_id=order_id)
        hold.remaining = needed
        hold.price, hold.quantity = price, quantity
        hold.filled_when_sized = quantity - open_quantity
        self._save_hold(hold, is_open=True)

    def _done(self, item: list[Any]) -> None:
        order_id = settlements.read_done(item)
        hold = self.state.pop_hold(order_id)
        if hold is None:
            return
        if hold.remaining > 0:
            self._move(
                hold.user_id, hold.asset, hold.remaining, -hold.remaining, "RELEASE", order_id=order_id
            )
        hold.remaining = ZERO
        self._save_hold(hold, is_open=False)

    def _fee(self, item: list[Any]) -> None:
        """Fees are collected per entry and credited once per asset (see `_credit_fees`)."""
        user_id, asset, amount, trade_id = settlements.read_fee(item)
        key = (user_id, asset)
        total, first, last, count = self._fees.get(key, (ZERO, trade_id, trade_id, 0))
        self._fees[key] = (total + amount, min(first, trade_id), max(last, trade_id), count + 1)

    def _credit_fees(self) -> None:
        """One FEE entry per fee account and asset for the trades one settlement entry brought.

        Every trade row carries its fees, so the entry's reference (the
        range of trade ids and their count) ties the sum back to them.
        """
        for (user_id, asset), (total, first, last, count) in sorted(self._fees.items()):
            if asset not in self.state.asset_ids:
                raise MalformedEntry(f"fee in unknown asset {asset!r}")
            reference = f"fees of {count} trade{'s' if count > 1 else ''} {first}..{last}"
            self._move(
                user_id,
                asset,
                total,
                ZERO,
                "FEE",
                trade_id=first if count == 1 else None,
                reference=reference,
            )
        self._fees.clear()

    # -------------------------------------------------------------- helpers

    def _known_user(self, message: dict[str, Any]) -> int:
        user_id = require_int(message, "uid")
        if user_id not in self.state.users:
            if not self.state.user_exists(user_id):
                raise MalformedEntry(f"unknown user {user_id}")
            self.state.users.add(user_id)
        return user_id

    def _hold_needed(self, user_id: int, rules: MarketRules, order: dict[str, Any]) -> tuple[str, Decimal]:
        if order["side"] == "SELL":
            return rules.base, order["quantity"]
        if order["type"] in ("LIMIT", "STOP_LIMIT"):  # a stop holds now what its order will need
            return rules.quote, _limit_buy_hold(order["price"], order["quantity"], rules)
        if order["quote_quantity"] is not None:
            return rules.quote, order["quote_quantity"]
        # A market buy by base quantity has no price to size its hold by: it
        # holds all the available quote, and matching caps its spend at that.
        return rules.quote, self._balance(user_id, rules.quote)[0]

    def _balance(self, user_id: int, asset: str) -> list[Decimal]:
        key = (user_id, asset)
        balance = self.state.balances.get(key)
        if balance is None:
            balance = self.state.balances[key] = [ZERO, ZERO]
        return balance

    def _move(
        self,
        user_id: int,
        asset: str,
        available_delta: Decimal,
        locked_delta: Decimal,
        kind: str,
        order_id: int | None = None,
        trade_id: int | None = None,
        reference: str = "",
        created_by: int | None = None,
        fee: Decimal = ZERO,
    ) -> None:
        balance = self._balance(user_id, asset)
        balance[0] += available_delta
        balance[1] += locked_delta
        if balance[0] < 0 or balance[1] < 0:
            raise AssertionError(f"balance of user {user_id} in {asset} would go negative: {balance}")
        self._ledger.add(
            (
                self._next_ledger_id(),
                user_id,
                self.state.asset_ids[asset],
                kind,
                available_delta,
                locked_delta,
                balance[0],
                balance[1],
                fee,
                order_id,
                trade_id,
                reference,
                created_by,
                self._now,
            )
        )
        self._touched.add((user_id, asset))

    def _publish_balances(self) -> None:
        """Each balance an entry changed, once, in its final state: its row, and an update for its owner."""
        for user_id, asset in sorted(self._touched):
            available, locked = self.state.balances[(user_id, asset)]
            self._balances.add((user_id, self.state.asset_ids[asset], available, locked, self._now))
            self._publish(
                user_id,
                {"type": "balance", "asset": asset, "available": str(available), "locked": str(locked)},
            )
        self._touched.clear()

    def _next_ledger_id(self) -> int:
        counters = self.buffer.position.counters
        counters["ledger"] = counters.get("ledger", 0) + 1
        return (counters["ledger"] << 10) | self.shard

    def _save_hold(self, hold: Hold, is_open: bool) -> None:
        self._holds.add(
            (
                hold.order_id,
                hold.user_id,
                self.state.asset_ids[hold.asset],
                hold.symbol,
                hold.client_order_id,
                hold.remaining,
                hold.price,
                hold.quantity,
                hold.filled_when_sized,
                hold.amends_sent,
                is_open,
                self._now,
            )
        )

    def _forward(self, rules: MarketRules, command: dict[str, Any]) -> None:
        """Send a command on to matching, with the time it was accepted: its entry's, in ms."""
        command["ts"] = self._ms
        self._send_to_matching(self.matching_keys[rules.shard].stream, command)

    def _send_to_matching(self, stream: str, command: dict[str, Any]) -> None:
        """Send, and remember the entry with the offset: the stream is trimmed only below what
        matching has committed of it (exchange/pipeline/trimming.py)."""
        self.buffer.position.forwarded[stream] = self._entry_id
        self.outbox.send(stream, command)

    def _reject_order(
        self,
        order_id: int,
        user_id: int,
        client_order_id: str,
        symbol: str,
        rules: MarketRules | None,
        order: dict[str, Any],
        reason: str,
    ) -> None:
        if rules is not None and _fits_order_row(order):
            self.buffer.upsert(
                Order,
                {
                    "id": order_id,
                    "user_id": user_id,
                    "market_id": rules.market_id,
                    "client_order_id": client_order_id,
                    "side": order["side"],
                    "type": order["type"],
                    "time_in_force": order["tif"],
                    "post_only": order["post_only"],
                    "self_trade_prevention": order["stp"],
                    "price": order["price"],
                    "quantity": order["quantity"],
                    "quote_quantity": order["quote_quantity"],
                    "executed_quantity": ZERO,
                    "executed_quote": ZERO,
                    "status": "REJECTED",
                    "reject_reason": reason,
                    "engine_sequence": None,
                    "created_at": self._now,
                    "updated_at": self._now,
                },
            )
        self._publish_order(user_id, order_id, client_order_id, symbol, "REJECTED", reason)

    def _publish_order(
        self, user_id: int, order_id: int, client_order_id: str, symbol: str, status: str, reason: str
    ) -> None:
        self._publish(
            user_id,
            {
                "type": "order",
                "order_id": str(order_id),
                "client_order_id": client_order_id,
                "symbol": symbol,
                "status": status,
                "executed_quantity": "0",
                "executed_quote": "0",
                "reject_reason": reason,
            },
        )

    def _publish(self, user_id: int, payload: dict[str, Any]) -> None:
        """An update for a trader, stamped with the time of the entry that caused it (ms)."""
        payload["ts"] = self._ms
        self.outbox.publish(self._channels[user_id], payload)


def _limit_buy_hold(price: Decimal, quantity: Decimal, rules: MarketRules) -> Decimal:
    """Quote for the whole order at its limit price plus the larger fee rate."""
    return (price * quantity * (1 + rules.max_fee_rate)).quantize(STORAGE_STEP, rounding=ROUND_UP)


def _fits_order_row(order: dict[str, Any]) -> bool:
    """A rejected order is stored only if its fields fit the table's constraints."""
    return (
        order["side"] in SIDES
        and order["type"] in TYPES
        and order["tif"] in TIMES_IN_FORCE
        and order["stp"] in SELF_TRADE_MODES
        and (order["quantity"] is not None or order["quote_quantity"] is not None)
        and all(_fits_amount_column(order[name]) for name in ("price", "quantity", "quote_quantity"))
    )


def _fits_amount_column(value: Decimal | None) -> bool:
    """Positive, below 10^18, at most 18 places: what Decimal(36, 18) holds."""
    if value is None:
        return True
    exponent = value.as_tuple().exponent
    return 0 < value < MAX_AMOUNT and isinstance(exponent, int) and exponent >= -18


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
