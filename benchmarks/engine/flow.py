"""A realistic, seeded command flow for one market, generated outside any timed loop.

Most commands are limit orders a few ticks around the touch, a large share are
cancels of live orders (market makers re-quoting), some are market and IOC
orders that take liquidity, a few amends. The flow is produced by driving a
real book once, so that cancels and amends name orders that are actually
resting; replaying the same list on a fresh book is deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matching import OrderBook, OrderType, SelfTradePrevention, Side, TimeInForce

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
STP = SelfTradePrevention.CANCEL_NEWEST

# One command: the OrderBook method name and its positional arguments.
Step = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class FlowMix:
    """Shares of each command kind, in percent of all commands."""

    limit_passive: int = 52
    limit_crossing: int = 6
    cancel: int = 30
    market: int = 4
    ioc: int = 4
    amend: int = 4


def generate(commands: int, seed: int = 1, mix: FlowMix = FlowMix()) -> list[Step]:
    rng = random.Random(seed)
    book = OrderBook(1)
    mid = 100_000
    steps: list[Step] = []
    live: list[int] = []
    next_id = 1
    kinds = (
        ["limit"] * mix.limit_passive
        + ["cross"] * mix.limit_crossing
        + ["cancel"] * mix.cancel
        + ["market"] * mix.market
        + ["ioc"] * mix.ioc
        + ["amend"] * mix.amend
    )
    run: dict[str, Callable[..., Any]] = {
        "place": book.place,
        "cancel": book.cancel,
        "amend": book.amend,
    }
    for ts in range(1, commands + 1):
        kind = rng.choice(kinds)
        if rng.random() < 0.01:
            mid += rng.choice((-1, 1))
        if kind in ("cancel", "amend"):
            step = _modify(rng, book, live, kind, ts)
            if step is not None:
                run[step[0]](*step[1])
                steps.append(step)
                continue
            kind = "limit"
        side = rng.choice((BUY, SELL))
        sign = 1 if side is BUY else -1
        user_id = rng.randrange(1, 2_000)
        qty = rng.choice((1, 1, 2, 3, 5, 10, 20, 50))
        order_id = next_id
        next_id += 1
        if kind == "market":
            args: tuple[Any, ...] = (order_id, user_id, side, MARKET, IOC, None, qty, None, False, STP, ts)
        elif kind in ("ioc", "cross"):
            price = mid + sign * rng.randint(1, 4)
            tif = IOC if kind == "ioc" else GTC
            args = (order_id, user_id, side, LIMIT, tif, price, qty, None, False, STP, ts)
        else:
            price = mid - sign * (1 + min(int(rng.expovariate(1 / 4)), 50))
            args = (order_id, user_id, side, LIMIT, GTC, price, qty, None, False, STP, ts)
        step = ("place", args)
        run["place"](*args)
        steps.append(step)
        if kind in ("limit", "cross"):
            live.append(order_id)
    return steps


def _modify(rng: random.Random, book: OrderBook, live: list[int], kind: str, ts: int) -> Step | None:
    """A cancel or amend of a resting order, mostly a recent one (quotes are replaced soon)."""
    while live:
        position = len(live) - 1 - min(int(rng.expovariate(1 / 20)), len(live) - 1)
        order = book.open_orders.get(live[position])
        if order is None:
            live.pop(position)
            continue
        if kind == "cancel":
            live.pop(position)
            return ("cancel", (order.order_id, order.user_id, ts))
        filled = order.qty_lots - order.remaining_lots
        if rng.random() < 0.1:
            sign = 1 if order.side is BUY else -1
            new_price = order.price_ticks - sign * rng.randint(1, 3)
            return ("amend", (order.order_id, order.user_id, None, new_price, ts))
        if order.qty_lots > filled + 1 and rng.random() < 0.7:
            new_qty = filled + max(1, order.remaining_lots // 2)
        else:
            new_qty = order.qty_lots + rng.randint(1, 5)
        return ("amend", (order.order_id, order.user_id, new_qty, None, ts))
    return None


def bind(book: OrderBook, steps: list[Step]) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
    """Resolve method names once, so the timed loop is a bare call per command."""
    methods: dict[str, Callable[..., Any]] = {"place": book.place, "cancel": book.cancel, "amend": book.amend}
    return [(methods[name], args) for name, args in steps]
