"""The plan's table 2.2 (heap vs array order book), extended with sortedcontainers.

    python -m benchmarks.engine.heap_vs_array [--repeat R]

Each column inserts the same N bids (random prices over 1,000 ticks, seeded
RNG) into an empty structure and reports the best of R runs in milliseconds:

* heapq: a binary heap of (-price, seq, order) tuples, the plan's "heap".
* array, re-sorted: append then ``list.sort`` per insert, the plan's "array".
* array, bisect: ``bisect.insort`` into a sorted list (memmove per insert).
* SortedDict levels: price -> deque per level, as the engine keeps them.
* OrderBook.place: the whole engine, validation and events included.

Only the last two also give FIFO per level, cancel by id and top-N depth.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import heapq
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sortedcontainers import SortedDict

from matching import OrderBook, OrderType, SelfTradePrevention, Side, TimeInForce

SIZES = (100, 1_000, 5_000, 10_000)
# The plan's figures (PHP engine, its machine) in ms: (heap, array).
PLAN = {100: (0.1, 0.25), 1_000: (0.27, 16.22), 5_000: (1.42, 425.62), 10_000: (3.58, 1634.17)}

Order = tuple[int, int, int]  # (seq, price, qty)


def with_heap(orders: list[Order]) -> None:
    heap: list[tuple[int, int, Order]] = []
    push = heapq.heappush
    for order in orders:
        push(heap, (-order[1], order[0], order))


def with_array_resorted(orders: list[Order]) -> None:
    array: list[tuple[int, int, Order]] = []
    for order in orders:
        array.append((-order[1], order[0], order))
        array.sort()


def with_array_bisect(orders: list[Order]) -> None:
    array: list[tuple[int, int, Order]] = []
    insort = bisect.insort
    for order in orders:
        insort(array, (-order[1], order[0], order))


def with_sorted_levels(orders: list[Order]) -> None:
    levels: SortedDict[int, deque[Order]] = SortedDict()
    for order in orders:
        queue = levels.get(-order[1])
        if queue is None:
            queue = levels[-order[1]] = deque()
        queue.append(order)


def with_order_book(orders: list[Order]) -> None:
    place = OrderBook(1).place
    buy, limit, gtc, stp = Side.BUY, OrderType.LIMIT, TimeInForce.GTC, SelfTradePrevention.CANCEL_NEWEST
    for seq, price, qty in orders:
        place(seq, 1, buy, limit, gtc, price, qty, None, False, stp, seq)


COLUMNS: list[tuple[str, Callable[[list[Order]], None]]] = [
    ("heapq", with_heap),
    ("array, re-sorted", with_array_resorted),
    ("array, bisect", with_array_bisect),
    ("SortedDict levels", with_sorted_levels),
    ("OrderBook.place", with_order_book),
]


def best_ms(insert: Callable[[list[Order]], None], orders: list[Order], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        insert(orders)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(22)
    results: dict[int, list[float]] = {}
    for n in SIZES:
        orders = [(seq, rng.randint(99_000, 99_999), rng.randint(1, 10)) for seq in range(1, n + 1)]
        results[n] = [best_ms(insert, orders, args.repeat) for _, insert in COLUMNS]

    header: list[Any] = ["Orders", "Heap ms (plan, PHP)", "Array ms (plan, PHP)"] + [
        f"{name} ms" for name, _ in COLUMNS
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for n, timings in results.items():
        plan_heap, plan_array = PLAN[n]
        cells = [f"{n:,}", f"{plan_heap:g}", f"{plan_array:,g}"] + [f"{ms:,.2f}" for ms in timings]
        print("| " + " | ".join(cells) + " |")
    largest = SIZES[-1]
    rates = [
        f"{name} {largest / (ms / 1000):,.0f}"
        for (name, _), ms in zip(COLUMNS, results[largest], strict=True)
    ]
    print(f"\nInserts/s at {largest:,}: " + ", ".join(rates))


if __name__ == "__main__":
    main()
