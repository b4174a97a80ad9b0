"""Mixed realistic flow: throughput and per-command latency of the engine on one core.

    python -m benchmarks.engine.mixed_flow [--commands N] [--seed S] [--repeat R]

The flow (benchmarks/engine/flow.py) is generated before any timing. The
untimed run calls the book's methods back to back; the timed runs wrap each
call in ``time.perf_counter_ns`` (about 80 ns per reading here), so they
report latency at some cost in throughput. Each row is the best of R runs
(highest throughput), which filters out a machine shared with other work.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import Counter

from benchmarks.engine.flow import Step, bind, generate
from matching import EventKind, OrderBook


def untimed_run(steps: list[Step], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        calls = bind(OrderBook(1), steps)
        gc.collect()
        start = time.perf_counter()
        for method, args in calls:
            method(*args)
        best = min(best, time.perf_counter() - start)
    return len(steps) / best


def best_timed_run(steps: list[Step], repeat: int) -> tuple[float, list[int]]:
    return max((timed_run(steps) for _ in range(repeat)), key=lambda run: run[0])


def timed_run(steps: list[Step]) -> tuple[float, list[int]]:
    calls = bind(OrderBook(1), steps)
    latencies = [0] * len(calls)
    clock = time.perf_counter_ns
    gc.collect()
    start = clock()
    for i, (method, args) in enumerate(calls):
        t0 = clock()
        method(*args)
        latencies[i] = clock() - t0
    elapsed = clock() - start
    return len(steps) / (elapsed / 1e9), sorted(latencies)


def percentile(sorted_values: list[int], p: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    steps = generate(args.commands, args.seed)
    book = OrderBook(1)
    kinds: Counter[str] = Counter()
    for method, call_args in bind(book, steps):
        for event in method(*call_args):
            kinds[EventKind(event[0]).name] += 1
    mix = Counter(name for name, _ in steps)
    print(f"flow: {len(steps):,} commands {dict(mix)}; events {dict(kinds)}")
    print(f"resting at end: {len(book.open_orders):,} orders, best {book.best_bid()} / {book.best_ask()}")

    throughput = untimed_run(steps, args.repeat)
    timed_throughput, latencies = best_timed_run(steps, args.repeat)
    # The same runs with the cyclic GC off show how much of the tail is collector pauses.
    gc.disable()
    gc_off_throughput, gc_off_latencies = best_timed_run(steps, args.repeat)
    gc.enable()
    print()
    print("| Run | Commands/s | p50 µs | p99 µs | p99.9 µs | max µs |")
    print("|-----|-----------:|-------:|-------:|---------:|-------:|")
    print(f"| untimed (best of {args.repeat}) | {throughput:,.0f} | | | | |")
    for label, rate, values in (
        (f"timed per command (best of {args.repeat})", timed_throughput, latencies),
        (f"timed per command, gc disabled (best of {args.repeat})", gc_off_throughput, gc_off_latencies),
    ):
        cells = [percentile(values, p) / 1000 for p in (50, 99, 99.9)] + [values[-1] / 1000]
        print(f"| {label} | {rate:,.0f} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
