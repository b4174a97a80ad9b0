"""This engine against matching-engine 0.1.1 (PyPI) on the peer's own flow, in one interpreter.

    python -m benchmarks.engine.peer [--rounds R] [--commands N] [--seed S] [--engine pure|compiled]

The peer needs Python >= 3.12, so this makes its own virtualenv
(var/peer-venv, from ``$PEER_PYTHON``, /root/.pyenv/versions/3.12.1 or
``python3.12`` on PATH), installs matching-engine and sortedcontainers there,
and runs itself again with that interpreter; matching-engine never enters
requirements. ``matching/`` needs nothing but sortedcontainers, so both
engines run in the same process.

The flow is ``matching_engine.workload.order_flow(seed, N)``: its limit orders
are GTC with the peer's default self-trade mode (cancel the taker, our
CANCEL_NEWEST), its market orders IOC, its cancels name an earlier limit
order, often one already done. Each engine gets it in its own vocabulary,
built before the clock. Before any timing, both run it once and the
benchmark stops with an error unless every trade (id, price, size, both
orders, both users, maker's remaining size) and the final book (every
resting order in priority order) are the same.

Each round runs both engines, in alternating order, twice: a bare loop that
iterates every command's events, then a loop that also reads the clock
around each command (the p99). GC stays on. A row is the best round of each
engine; the ratio is of the bare loops.

The inputs are frozen out of the cyclic GC (``gc.freeze``) before the clock,
for both engines alike: the peer's are structs the collector does not track,
ours are tuples of enum members it does, and a full collection traversing
500,000 of them during the run counted against this engine although no
worker holds its input that way (one command at a time comes off a stream).
What each engine allocates while it runs is collected as usual.

``--engine compiled`` runs the engine's mypyc build for the peer's Python
(``matching.mypyc_build``, made first if need be; it needs a C compiler),
``pure`` the modules as they are; by default whichever ``make run`` would
(``SPOT_ENGINE=auto``). The output names the build that ran.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / "var" / "peer-venv"
PEER_REQUIREMENTS = ("matching-engine==0.1.1", "sortedcontainers==2.4.0")
TRADE_SEQUENCE_MASK = (1 << 40) - 1
MARKET_ID = 1

Calls = list[tuple[Callable[..., Iterable[Any]], tuple[Any, ...]]]


# ----------------------------------------------------------------- the venv


def _base_python() -> str:
    for candidate in (
        os.environ.get("PEER_PYTHON"),
        "/root/.pyenv/versions/3.12.1/bin/python",
        shutil.which("python3.12"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("matching-engine needs Python >= 3.12: set PEER_PYTHON to one")


def _ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != "\n".join(PEER_REQUIREMENTS):
        if not python.exists():
            subprocess.run([_base_python(), "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)
        stamp.write_text("\n".join(PEER_REQUIREMENTS))
    return python


def _in_peer_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- the flows


def peer_inputs(flow: list[Any]) -> list[Any]:
    from matching_engine.domain import SequencedCommand

    return [SequencedCommand(seq, seq, command) for seq, command in enumerate(flow, 1)]


def our_calls(book: Any, flow: list[Any]) -> Calls:
    """The peer's commands as calls on ``book``, each with the peer's sequence as its time."""
    from matching_engine.domain import CancelOrder, OrderType, SelfTradePrevention
    from matching_engine.domain import Side as PeerSide

    from matching import OrderType as Type
    from matching import SelfTradePrevention as Stp
    from matching import Side, TimeInForce

    place, cancel = book.place, book.cancel
    calls: Calls = []
    for ts, command in enumerate(flow, 1):
        if type(command) is CancelOrder:
            calls.append((cancel, (command.order_id, command.account, ts)))
            continue
        # The flow uses only these; anything else would need a translation of its own.
        assert command.stp is SelfTradePrevention.CANCEL_TAKER and not command.post_only
        side = Side.BUY if command.side is PeerSide.BUY else Side.SELL
        if command.order_type is OrderType.MARKET:
            kind, tif, price = Type.MARKET, TimeInForce.IOC, None
        else:
            assert command.tif == "gtc"
            kind, tif, price = Type.LIMIT, TimeInForce.GTC, command.price
        args = (command.order_id, command.account, side, kind, tif, price, command.qty)
        calls.append((place, (*args, None, False, Stp.CANCEL_NEWEST, ts)))
    return calls


# ----------------------------------------------------------- the agreement


def check_same_outcome(flow: list[Any]) -> tuple[int, int, int, int]:
    """Run both once; raise SystemExit unless trades and final books agree.

    Returns the trades, the orders resting at the end, and each engine's events.
    """
    from matching_engine.engine import MatchingEngine
    from matching_engine.events import Trade as PeerTrade

    from matching import EventKind, OrderBook, Side

    peer = MatchingEngine()
    peer_trades = []
    peer_events = 0
    for command in peer_inputs(flow):
        for event in peer.process(command):
            peer_events += 1
            if type(event) is PeerTrade:
                peer_trades.append(
                    (
                        event.trade_id,
                        event.price,
                        event.qty,
                        event.taker_side == "buy",
                        event.taker_order_id,
                        event.taker_account,
                        event.maker_order_id,
                        event.maker_account,
                        event.maker_remaining,
                    )
                )
    book = OrderBook(MARKET_ID)
    ours = []
    our_events = 0
    for method, args in our_calls(book, flow):
        for event in method(*args):
            our_events += 1
            if event[0] is EventKind.TRADE:
                _, _, trade_id, maker_oid, maker_uid, taker_oid, taker_uid, side, price, qty, left, _ = event
                ours.append(
                    (
                        trade_id & TRADE_SEQUENCE_MASK,
                        price,
                        qty,
                        side is Side.BUY,
                        taker_oid,
                        taker_uid,
                        maker_oid,
                        maker_uid,
                        left,
                    )
                )
    book.check_invariants()
    if ours != peer_trades:
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, peer_trades, strict=False)) if a != b),
            min(len(ours), len(peer_trades)),
        )
        raise SystemExit(
            f"TRADES DIFFER: {len(ours)} ours vs {len(peer_trades)} peer's; first difference at "
            f"#{first}: ours {ours[first : first + 1]}, peer's {peer_trades[first : first + 1]}"
        )
    peer_book = [(e.order_id, e.account, e.side == "buy", e.price, e.qty) for e in peer.book.entries()]
    our_book = [
        (o[0], o[1], o[2] == Side.BUY, o[3], o[5]) for o in book.snapshot()["orders"]
    ]  # snapshot rows: order id, user id, side, price, qty, remaining, ...
    if our_book != peer_book:
        raise SystemExit(f"FINAL BOOKS DIFFER: {len(our_book)} resting orders ours, {len(peer_book)} peer's")
    return len(ours), len(our_book), our_events, peer_events


# --------------------------------------------------------------- the rounds


def run_peer(flow: list[Any], timed: bool) -> tuple[float, list[int]]:
    from matching_engine.engine import MatchingEngine

    process = MatchingEngine().process
    inputs = peer_inputs(flow)
    return _run([(process, (command,)) for command in inputs], timed)


def run_ours(flow: list[Any], timed: bool) -> tuple[float, list[int]]:
    from matching import OrderBook

    return _run(our_calls(OrderBook(MARKET_ID), flow), timed)


def _run(calls: Calls, timed: bool) -> tuple[float, list[int]]:
    """Commands per second, and the sorted per-command latencies (ns) when ``timed``."""
    gc.collect()
    gc.freeze()  # the inputs (module docstring)
    try:
        return _timed_loop(calls) if timed else _bare_loop(calls)
    finally:
        gc.unfreeze()


def _bare_loop(calls: Calls) -> tuple[float, list[int]]:
    clock = time.perf_counter_ns
    start = clock()
    for method, args in calls:
        for _ in method(*args):
            pass
    return len(calls) / ((clock() - start) / 1e9), []


def _timed_loop(calls: Calls) -> tuple[float, list[int]]:
    clock = time.perf_counter_ns
    latencies = [0] * len(calls)
    start = clock()
    for i, (method, args) in enumerate(calls):
        t0 = clock()
        for _ in method(*args):
            pass
        latencies[i] = clock() - t0
    elapsed = clock() - start
    latencies.sort()
    return len(calls) / (elapsed / 1e9), latencies


def engine_build() -> str:
    """Which ``matching`` runs: the sources, or its compiled build (``--engine``)."""
    import matching

    return matching.ENGINE_BUILD


def percentile(sorted_values: list[int], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))] / 1000


def measure(args: argparse.Namespace) -> None:
    from matching_engine import __version__ as peer_version
    from matching_engine.workload import order_flow

    flow = list(order_flow(args.seed, args.commands))
    trades, resting, our_events, peer_events = check_same_outcome(flow)
    print(
        f"flow: matching_engine.workload.order_flow({args.seed}, {args.commands:_}): "
        f"{trades:,} trades, {resting:,} resting at the end, identical in both engines; "
        f"events per command: ours {our_events / len(flow):.2f}, peer's {peer_events / len(flow):.2f}"
    )
    print(
        f"Python {platform.python_version()}, matching-engine {peer_version}, "
        f"{platform.processor() or platform.machine()}, {args.rounds} rounds, gc on, inputs frozen"
    )
    print(f"this engine: {engine_build()}")
    runners = {"this engine": run_ours, f"matching-engine {peer_version}": run_peer}
    bare: dict[str, list[float]] = {name: [] for name in runners}
    timed: dict[str, list[tuple[float, list[int]]]] = {name: [] for name in runners}
    order = list(runners)
    for round_no in range(args.rounds):
        for name in order if round_no % 2 == 0 else order[::-1]:
            bare[name].append(runners[name](flow, False)[0])
            timed[name].append(runners[name](flow, True))
        progress = ", ".join(f"{name} {bare[name][-1]:,.0f}/s" for name in order)
        print(f"  round {round_no + 1}: {progress}", file=sys.stderr, flush=True)
    ours_name, peer_name = order
    ratios = sorted(a / b for a, b in zip(bare[ours_name], bare[peer_name], strict=True))
    print()
    print("| Engine | Commands/s (best) | timed Commands/s | p50 µs | p99 µs | p99.9 µs | max µs |")
    print("|--------|------------------:|-----------------:|-------:|-------:|---------:|-------:|")
    for name in order:
        rate, latencies = max(timed[name], key=lambda run: run[0])
        cells = [percentile(latencies, p) for p in (50, 99, 99.9)] + [latencies[-1] / 1000]
        print(
            f"| {name} | {max(bare[name]):,.0f} | {rate:,.0f} | "
            + " | ".join(f"{c:.2f}" for c in cells)
            + " |"
        )
    print()
    print(
        f"ratio of best rounds: {max(bare[ours_name]) / max(bare[peer_name]):.2f}x; per round "
        f"{ratios[0]:.2f}-{ratios[-1]:.2f}x, median {statistics.median(ratios):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--commands", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        choices=["ours", "peer", "ours-setup", "peer-setup"],
        help="one bare run of one engine (or only its inputs), no checks: for an instruction counter",
    )
    parser.add_argument(
        "--engine",
        choices=["auto", "pure", "compiled"],
        default=os.environ.get("SPOT_ENGINE", "auto"),
        help="which build of matching/ runs: the sources, its mypyc build, or the build if there is one",
    )
    args = parser.parse_args()
    if not _in_peer_venv():
        python = _ensure_venv()
        if args.engine == "compiled":
            build = [sys.executable, "-m", "matching.mypyc_build", "--python", str(python)]
            subprocess.run(build, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        env = {**os.environ, "PYTHONPATH": str(REPO), "SPOT_ENGINE": args.engine}
        os.chdir(REPO)
        # Runs itself again, in the venv it just made.
        os.execve(python, [str(python), "-m", "benchmarks.engine.peer", *sys.argv[1:]], env)  # noqa: S606
    if args.only:
        one_run(args.only, args.seed, args.commands)
        return
    measure(args)


def one_run(which: str, seed: int, count: int) -> None:
    """Build one engine's inputs and, unless ``-setup``, run them once: the difference of the
    two under ``valgrind --tool=cachegrind`` is the run's instruction count, which load on a
    shared machine does not move."""
    from matching_engine.engine import MatchingEngine
    from matching_engine.workload import order_flow

    from matching import OrderBook

    flow = list(order_flow(seed, count))
    if which.startswith("ours"):
        calls = our_calls(OrderBook(MARKET_ID), flow)
    else:
        process = MatchingEngine().process
        calls = [(process, (command,)) for command in peer_inputs(flow)]
    gc.collect()
    gc.freeze()  # as in the timed runs
    if not which.endswith("-setup"):
        for method, call_args in calls:
            for _ in method(*call_args):
                pass


if __name__ == "__main__":
    main()
