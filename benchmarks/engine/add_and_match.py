"""The plan's table 2.1 for this engine: adds per second and matches per second.

    python -m benchmarks.engine.add_and_match [--repeat R]

Add: N passive GTC limit orders (both sides, prices within 500 ticks of the
mid, sizes 1-10 lots) placed into an empty book. Match: a book pre-loaded with
N resting asks (untimed), then N market buys that together take exactly that
liquidity, so every taker fills, most across one or two makers. Each figure is
the best of R runs of ``OrderBook.place`` calls with their events; inputs come
from a seeded RNG outside the timed loop.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from typing import Any

from matching import OrderBook, OrderType, SelfTradePrevention, Side, TimeInForce

SIZES = (1_000, 10_000, 50_000, 100_000)
# The plan's figures (PHP engine, its machine), reproduced as the reference column.
PLAN_ADD = {1_000: 3_146_515, 10_000: 5_570_865, 50_000: 4_271_707, 100_000: 3_226_537}
PLAN_MATCH = {1_000: 4_472, 10_000: 5_578, 50_000: 26_936, 100_000: 53_297}

LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
STP = SelfTradePrevention.CANCEL_NEWEST
MID = 100_000


def passive_orders(n: int, rng: random.Random) -> list[tuple[Any, ...]]:
    orders = []
    for i in range(1, n + 1):
        side = Side.BUY if i % 2 else Side.SELL
        offset = rng.randint(1, 500)
        price = MID - offset if side is Side.BUY else MID + offset
        orders.append(
            (i, rng.randint(1, 5_000), side, LIMIT, GTC, price, rng.randint(1, 10), None, False, STP, i)
        )
    return orders


def resting_asks_and_takers(
    n: int, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    sizes = [rng.randint(1, 10) for _ in range(n)]
    asks = [
        (i, 1, Side.SELL, LIMIT, GTC, MID + rng.randint(1, 500), size, None, False, STP, i)
        for i, size in enumerate(sizes, start=1)
    ]
    taker_sizes = sizes[:]
    rng.shuffle(taker_sizes)
    takers = [
        (n + i, 2, Side.BUY, MARKET, IOC, None, size, None, False, STP, n + i)
        for i, size in enumerate(taker_sizes, start=1)
    ]
    return asks, takers


def best_time(setup: Any, orders: list[tuple[Any, ...]], repeat: int) -> tuple[float, int]:
    best = float("inf")
    trades = 0
    for _ in range(repeat):
        book = setup()
        place = book.place
        gc.collect()
        start = time.perf_counter()
        for args in orders:
            place(*args)
        best = min(best, time.perf_counter() - start)
        trades = book.trade_sequence
    return best, trades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(21)
    rows = []
    for n in SIZES:
        adds = passive_orders(n, rng)
        add_seconds, _ = best_time(lambda: OrderBook(1), adds, args.repeat)
        asks, takers = resting_asks_and_takers(n, rng)

        def loaded(asks: list[tuple[Any, ...]] = asks) -> OrderBook:
            book = OrderBook(1)
            for ask in asks:
                book.place(*ask)
            return book

        match_seconds, trades = best_time(loaded, takers, args.repeat)
        rows.append((n, n / add_seconds, n / match_seconds, trades / match_seconds))

    header = [
        "Orders",
        "Add/sec (plan, PHP)",
        "Add/sec (this engine)",
        "Match/sec (plan, PHP)",
        "Match/sec (this engine)",
        "Trades/sec (this engine)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for n, add_rate, match_rate, trade_rate in rows:
        cells = [n, PLAN_ADD[n], round(add_rate), PLAN_MATCH[n], round(match_rate), round(trade_rate)]
        print("| " + " | ".join(f"{cell:,}" for cell in cells) + " |")


if __name__ == "__main__":
    main()
