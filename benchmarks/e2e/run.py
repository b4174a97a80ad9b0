"""The whole exchange as a trader meets it: signed REST in, the fill out on the WebSocket, everything committed.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_e2e REDIS_URL=redis://127.0.0.1:6379/0 \\
        python -m benchmarks.e2e.run [--rates 100,250,500,1000,1500,2000,3000] [--seconds 10] [--pairs 10]

Starts every process `make run` starts (benchmarks.stack: daphne, the
granian order API, one accounts and one matching worker per shard) on its
own database and Redis key prefix, makes traders with keys and deposits them
funds through the pipeline, then offers crossing orders at each rate in turn
from a sender process (benchmarks.e2e.sender) while a listener process
(benchmarks.e2e.listener) follows every trader's private channel and the
public trades. The sweep stops at saturation: when the achieved rate falls
below 90 % of the offered one or the fills' p99 passes a second.

For each rate it prints: the achieved rate; REST latency (sent to answered);
REST → private fill (both traders' fills, from the request of the order that
made the trade) and REST → public trade (the same request to the trade on the
public channel) p50/p99/max; fills missing; the CPU each process
spent per order (the stack's, the database's and Redis's, and the load
generator's apart). At the end it stops the stack (the workers commit what
they hold) and runs `manage.py audit` on the database, when the command is
there, and prints what it found.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from benchmarks.e2e.capacity import print_capacity
from benchmarks.e2e.client import CLIENT_LOOP_VARIABLE, CLIENT_LOOPS, DEFAULT_CLIENT_LOOP
from benchmarks.e2e.journeys import TakerFill, percentiles, print_journeys
from benchmarks.stack import (
    ROOT,
    Stack,
    create_database,
    tree_cpu_seconds,
    tree_rss_bytes,
    tree_wakeups,
    wakeups_between,
)

SYMBOL = "BTC/USDT"
PRICE = "30000"
QUANTITY = "0.001"
PREFIX = f"spot-e2e-{os.getpid()}"
DRAIN_QUIET_S = 5.0  # a phase ends when every order has its fill, or nothing arrived for this long


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/spot_e2e")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789abcdefghij")
    os.environ["REDIS_KEY_PREFIX"] = PREFIX
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    import django

    django.setup()
    create_database()


def prepare_database(traders: int) -> list[dict[str, Any]]:
    """An empty exchange with BTC/USDT and `traders` users holding trading keys."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from exchange.models import Asset, Market
    from exchange.services.api_keys import issue_api_key

    call_command("migrate", verbosity=0)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(table)}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from Django)
    usdt = Asset.objects.create(code="USDT", display_precision=6)
    btc = Asset.objects.create(code="BTC", display_precision=8)
    Market.objects.create(
        symbol=SYMBOL,
        base=btc,
        quote=usdt,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.00001"),
        min_quantity=Decimal("0.00001"),
        min_notional=Decimal("1"),
    )
    User = get_user_model()
    out = []
    for n in range(traders):
        user = User.objects.create(username=f"e2e-trader-{n}")
        issued = issue_api_key(user, label="e2e benchmark", can_trade=True)
        out.append({"user_id": user.pk, "key_id": issued.api_key.key_id, "private_key": issued.private_key})
    return out


def prepare_traders(pairs: int, work_prefix: str) -> tuple[Path, list[dict[str, Any]], Path]:
    """Django set up, the database emptied with two traders a pair, and a work folder holding their keys."""
    setup_django()
    work = Path(tempfile.mkdtemp(prefix=work_prefix))
    traders = prepare_database(2 * pairs)
    traders_file = work / "traders.json"
    traders_file.write_text(json.dumps(traders))
    return work, traders, traders_file


def stack_env(**extra: str) -> dict[str, str]:
    """The stack's environment: this one's, with production settings and the caller's extras."""
    return {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # With DEBUG off the checks want HMAC secrets under a key of their own (the audit prints them).
        "API_SECRETS_KEY": os.environ.get("API_SECRETS_KEY") or Fernet.generate_key().decode(),
        "LOG_LEVEL": "INFO",
        **extra,
    }


def deposit(traders: list[dict[str, Any]]) -> None:
    """Funds for every trader through the accounts stream, as the admin's form does; waits until applied."""
    from exchange.models import Balance
    from exchange.pipeline.order_entry import OrderEntry
    from spot.redis_connection import redis_client

    entry = OrderEntry(redis_client())
    for trader in traders:
        for asset, amount in (("USDT", "100000000"), ("BTC", "10000")):
            entry.change_funds(trader["user_id"], asset, "DEPOSIT", Decimal(amount), "e2e benchmark", None)
    while Balance.objects.filter(user_id__in=[t["user_id"] for t in traders]).count() < 2 * len(traders):
        time.sleep(0.2)


@dataclass
class Phase:
    rate: int
    orders: list[list[Any]]
    fills: list[list[Any]]
    trades: list[list[Any]]
    seconds: float
    cpu: dict[str, float]
    wakeups: dict[str, int]
    other_frames: int
    memory: list[tuple[float, dict[str, int]]]  # (seconds into the phase, resident bytes of each process)


class Listener:
    def __init__(self, traders_file: Path, port: int, env: dict[str, str], work: Path) -> None:
        self.work = work
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "benchmarks.e2e.listener"),
                *(str(traders_file), str(port), SYMBOL, str(work / "listening.jsonl")),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"the listener did not start: {line!r}")
        self.dumps = 0

    def dump(self) -> tuple[list[list[Any]], int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.dumps += 1
        path = self.work / f"listened-{self.dumps}.jsonl"
        self.process.stdin.write(f"dump {path}\n")
        self.process.stdin.flush()
        other = int(self.process.stdout.readline().split()[2])
        return [json.loads(line) for line in path.read_text().splitlines()], other

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait()


class MemorySampler:
    """Each process's resident memory every `every` seconds while a phase runs (a soak's flat-memory check)."""

    def __init__(self, stack: Stack, extra: dict[str, int], every: float) -> None:
        self.stack, self.extra, self.every = stack, extra, every
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        started = time.monotonic()
        while True:
            sample = self.stack.rss_bytes() | tree_rss_bytes(self.extra) | unread_entries()
            self.samples.append((time.monotonic() - started, sample))
            if self._stop.wait(self.every):
                return


# Not memory: sampled with it, so that memory held by a worker that fell behind is told from a leak.
UNREAD = ("unread accounts entries", "unread matching entries")


def unread_entries() -> dict[str, int]:
    """Entries of the accounts and matching streams their workers have not read yet (XINFO GROUPS lag)."""
    from spot.redis_connection import redis_client

    client = redis_client()
    totals = dict.fromkeys(UNREAD, 0)
    for key in client.scan_iter(match=f"{PREFIX}:{{*}}:in", count=1000):
        name = UNREAD[0] if b"{a" in key else UNREAD[1]
        for group in client.xinfo_groups(key):
            totals[name] += int(group.get("lag") or 0)
    return totals


def run_phase(
    stack: Stack,
    listener: Listener,
    traders_file: Path,
    rate: int,
    seconds: float,
    work: Path,
    memory_every: float = 0.0,
) -> Phase:
    out = work / f"sent-{rate}.jsonl"
    watched = {**stack.pids(), "listener": listener.process.pid}
    before = stack.cpu_seconds() | tree_cpu_seconds({"listener": listener.process.pid})
    woken_before = stack.wakeups() | tree_wakeups({"listener": listener.process.pid})
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    sampler = MemorySampler(stack, {"listener": listener.process.pid}, memory_every)
    with sampler:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.e2e.sender",
                str(traders_file),
                str(stack.api_port),
                SYMBOL,
                PRICE,
                QUANTITY,
                str(rate),
                str(seconds),
                str(out),
            ],
            cwd=ROOT,
            check=True,
        )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    orders = [json.loads(line) for line in out.read_text().splitlines()]
    acknowledged = sum(1 for o in orders if o[5] is not None)
    fills: list[list[Any]] = []
    trades: list[list[Any]] = []
    other = 0
    quiet_since = time.monotonic()
    while True:
        got, other = listener.dump()
        if got:
            quiet_since = time.monotonic()
        fills += [g for g in got if g[0] == "fill"]
        trades += [g for g in got if g[0] == "trade"]
        if len(fills) >= acknowledged and len(trades) >= acknowledged // 2:
            break
        if time.monotonic() - quiet_since > DRAIN_QUIET_S:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    after = stack.cpu_seconds() | tree_cpu_seconds({"listener": listener.process.pid})
    woken_after = stack.wakeups() | tree_wakeups({"listener": listener.process.pid})
    cpu = {name: after[name] - before.get(name, 0.0) for name in after if name in before}
    wakeups = wakeups_between(woken_before, woken_after)
    cpu["sender"] = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    del watched
    return Phase(rate, orders, fills, trades, elapsed, cpu, wakeups, other, sampler.samples)


def summarize(phase: Phase, seconds: float) -> dict[str, Any]:
    acknowledged = [o for o in phase.orders if o[5] is not None]
    sent = {str(o[5]): o for o in acknowledged}
    by_client_id = {o[0]: o for o in acknowledged}
    fill_ms, trade_ms = [], []
    filled: set[str] = set()
    # A fill's latency runs from the request of the order that made the trade (the taker):
    # the maker's fill cannot come before its counterpart is sent, and the time it rested
    # waiting for one is the trader's, not the exchange's.
    taker: dict[str, list[Any]] = {}
    for _, order_id, client_order_id, trade_id, role, _received in phase.fills:
        order = sent.get(order_id) or by_client_id.get(client_order_id or "")
        if order is not None and role in ("TAKER", "taker"):
            taker[trade_id] = order
    fills_by_due: list[tuple[int, float]] = []  # (the taker's due time, the fill's latency in ms)
    taker_fills: list[TakerFill] = []  # each taker's own fill, split by stage once the stack stops
    for _, order_id, client_order_id, trade_id, _role, received in phase.fills:
        order = sent.get(order_id) or by_client_id.get(client_order_id or "")
        if order is None or order_id in filled:
            continue
        filled.add(order_id)
        if trade_id in taker:
            fill_ms.append((received - taker[trade_id][2]) / 1e6)
            fills_by_due.append((taker[trade_id][1], fill_ms[-1]))
            if taker[trade_id] is order:
                taker_fills.append(TakerFill(int(order_id), order[2], received))
    for _, trade_id, received in phase.trades:
        if trade_id in taker:
            trade_ms.append((received - taker.pop(trade_id)[2]) / 1e6)
    rest_ms = [(o[3] - o[2]) / 1e6 for o in acknowledged]
    queued_ms = [(o[2] - o[1]) / 1e6 for o in phase.orders]
    first, last = min(o[1] for o in phase.orders), max(o[3] for o in phase.orders)
    stack_cpu = sum(v for k, v in phase.cpu.items() if k not in ("sender", "listener"))
    n = max(1, len(acknowledged))
    return {
        "offered": phase.rate,
        "orders": len(phase.orders),
        "acknowledged": len(acknowledged),
        "errors": len(phase.orders) - len(acknowledged),
        "achieved": len(acknowledged) / ((last - first) / 1e9),
        "rest": percentiles(rest_ms),
        "queued_p99": percentiles(queued_ms)[1],
        "fill": percentiles(fill_ms),
        "trade": percentiles(trade_ms),
        "missing_fills": len(acknowledged) - len(filled),
        "cpu_us": {k: v / n * 1e6 for k, v in sorted(phase.cpu.items())},
        "stack_cpu_us": stack_cpu / n * 1e6,
        "wakeups": {k: v / n for k, v in sorted(phase.wakeups.items())},
        "stack_cpu_pct": stack_cpu / phase.seconds * 100,
        "error_samples": [o[6] for o in phase.orders if o[5] is None][:3],
        "error_pct": (len(phase.orders) - len(acknowledged)) / max(1, len(phase.orders)) * 100,
        "memory": phase.memory,
        "slices": latency_slices(phase.orders, fills_by_due, first, last) if phase.memory else [],
        "taker_fills": taker_fills,
    }


def latency_slices(
    orders: list[list[Any]], fills_by_due: list[tuple[int, float]], first: int, last: int, count: int = 12
) -> list[dict[str, Any]]:
    """REST, client wait and fill latency in `count` equal slices of a long phase, by when each order was due.

    A phase's percentiles hide a trend: the hour's soak at 1,000/s had a fill
    p99 of 654 ms, 45 ms in its first five minutes and ~1 s in its last
    twenty (docs/BENCHMARKS.md, Soak).
    """
    width = max(1, last - first) / count
    slices: list[dict[str, Any]] = [{"rest": [], "wait": [], "fill": []} for _ in range(count)]

    def slice_due(due: int) -> dict[str, Any]:
        return slices[min(count - 1, int((due - first) / width))]

    for o in orders:
        at = slice_due(o[1])
        at["wait"].append((o[2] - o[1]) / 1e6)
        if o[5] is not None:
            at["rest"].append((o[3] - o[2]) / 1e6)
    for due, ms in fills_by_due:
        slice_due(due)["fill"].append(ms)
    return [
        {
            "from_s": n * width / 1e9,
            "to_s": (n + 1) * width / 1e9,
            "orders": len(lists["wait"]),
            "rest": percentiles(lists["rest"]),
            "wait_p99": percentiles(lists["wait"])[1],
            "fill": percentiles(lists["fill"]),
        }
        for n, lists in enumerate(slices)
    ]


def grouped_cpu(cpu: dict[str, float]) -> dict[str, float]:
    groups: dict[str, float] = {}
    for name, value in cpu.items():
        key = (
            "matching" if name.startswith("matching") else "accounts" if name.startswith("accounts") else name
        )
        groups[key] = groups.get(key, 0.0) + value
    return groups


def print_tables(rows: list[dict[str, Any]], seconds: float, client_loop: str) -> None:
    print(
        f"\n# end to end, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {seconds:.0f} s a rate,"
        f" load generator on {client_loop}\n"
    )
    print(
        "| offered/s | achieved/s | errors | REST p50 ms | REST p99 ms | → private fill p50 ms | p99 ms | max ms "
        "| → public trade p50 ms | p99 ms | max ms | fills missing | client wait p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['offered']:,} | {r['achieved']:,.0f} | {r['errors']} | {r['rest'][0]:.2f} | {r['rest'][1]:.2f} "
            f"| {r['fill'][0]:.2f} | {r['fill'][1]:.2f} | {r['fill'][2]:.2f} "
            f"| {r['trade'][0]:.2f} | {r['trade'][1]:.2f} | {r['trade'][2]:.2f} "
            f"| {r['missing_fills']} | {r['queued_p99']:.2f} |"
        )
    names = sorted({k for r in rows for k in grouped_cpu(r["cpu_us"])} - {"sender", "listener"})
    print("\nCPU µs per order (each process with its children; the load generator apart):\n")
    print("| offered/s | " + " | ".join(names) + " | stack total | stack % of the box | sender | listener |")
    print("|---" * (len(names) + 6) + "|")
    for r in rows:
        cpu = grouped_cpu(r["cpu_us"])
        cells = " | ".join(f"{cpu.get(n, 0):,.0f}" for n in names)
        print(
            f"| {r['offered']:,} | {cells} | {r['stack_cpu_us']:,.0f} | {r['stack_cpu_pct'] / (os.cpu_count() or 1):.0f} % "
            f"| {cpu.get('sender', 0):,.0f} | {cpu.get('listener', 0):,.0f} |"
        )


def print_wakeups(rows: list[dict[str, Any]]) -> None:
    """Each process's wake-ups an order (stack.tree_wakeups): what its CPU an order pays for at modest rates."""
    names = sorted({k for r in rows for k in grouped_cpu(r["wakeups"])} - {"sender", "listener"})
    print("\nWake-ups an order (voluntary context switches of every thread):\n")
    print("| offered/s | " + " | ".join(names) + " | stack total | listener |")
    print("|---" * (len(names) + 3) + "|")
    for r in rows:
        woken = grouped_cpu(r["wakeups"])
        cells = " | ".join(f"{woken.get(n, 0):,.1f}" for n in names)
        total = sum(v for k, v in woken.items() if k not in ("sender", "listener"))
        print(f"| {r['offered']:,} | {cells} | {total:,.1f} | {woken.get('listener', 0):,.1f} |")


def print_memory(rows: list[dict[str, Any]]) -> None:
    """Each process's resident memory at seven points of each sampled phase, and the second half's growth.

    Memory that fills a window (client order ids, capped streams) grows at
    first and then stays: the second half's growth tells it from a leak. The
    streams' unread entries are sampled too (rows in entries, not MiB): a
    worker that falls behind holds the open orders and holds of its backlog.
    """
    for r in rows:
        samples = r["memory"]
        if len(samples) < 2:
            continue
        last = len(samples) - 1
        picks = [samples[round(last * n / 6)] for n in range(7)]
        middle = samples[last // 2]
        names = sorted(samples[0][1])
        print(f"\nResident memory (MiB) at {r['offered']:,}/s, sampled {len(samples)} times:\n")
        header = " | ".join(f"{at / 60:.0f} min" for at, _ in picks)
        print(f"| process | {header} | max | end - start | second half |")
        print("|---" * (len(picks) + 4) + "|")
        for name in names:
            scale = 1 if name in UNREAD else 2**20  # a backlog is counted in entries, not MiB
            values = [sample.get(name, 0) / scale for _, sample in samples]
            cells = " | ".join(f"{sample.get(name, 0) / scale:,.0f}" for _, sample in picks)
            half = values[-1] - middle[1].get(name, 0) / scale
            print(
                f"| {name} | {cells} | {max(values):,.0f} | {values[-1] - values[0]:+,.0f} | {half:+,.0f} |"
            )


def print_slices(rows: list[dict[str, Any]]) -> None:
    """Latency through each sampled phase: whether it stays where it started."""
    for r in rows:
        if not r["slices"]:
            continue
        print(f"\nLatency through the phase at {r['offered']:,}/s (by when each order was due; ms):\n")
        print(
            "| from | to | orders | REST p50 | REST p99 | client wait p99 | fill p50 | fill p99 | fill max |"
        )
        print("|---" * 9 + "|")
        minutes = r["slices"][-1]["to_s"] >= 600
        for s in r["slices"]:
            print(
                f"| {_at(s['from_s'], minutes)} | {_at(s['to_s'], minutes)} | {s['orders']:,} | {s['rest'][0]:.2f} | "
                f"{s['rest'][1]:.2f} | {s['wait_p99']:.2f} | {s['fill'][0]:.2f} | {s['fill'][1]:.2f} | {s['fill'][2]:.2f} |"
            )


def _at(seconds: float, minutes: bool) -> str:
    return f"{seconds / 60:.0f} min" if minutes else f"{seconds:.0f} s"


def audit(env: dict[str, str]) -> int:
    commands = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout.split()
    if "audit" not in commands:
        print("\n(no `manage.py audit` in this tree: the audit was skipped)")
        return 0
    print("\n$ python manage.py audit")
    return subprocess.run([sys.executable, "manage.py", "audit"], cwd=ROOT, env=env).returncode


def drop_keys() -> None:
    from spot.redis_connection import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"*{PREFIX}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="100,250,500,1000,1500,2000,3000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=10, help="trader pairs (each trader has a WebSocket)")
    parser.add_argument("--keep-going", action="store_true", help="do not stop the sweep at saturation")
    parser.add_argument(
        "--memory-every",
        type=float,
        default=0.0,
        metavar="S",
        help="sample each process's resident memory every S seconds of a phase (a soak: flat memory)",
    )
    parser.add_argument(
        "--client-loop",
        choices=CLIENT_LOOPS,
        default=DEFAULT_CLIENT_LOOP,
        help="the event loop of the sender and the listener (the load generator, not the exchange);"
        " uvloop costs the shared cores less (default since 2026-12-04; asyncio before)",
    )
    options = parser.parse_args()
    os.environ[CLIENT_LOOP_VARIABLE] = options.client_loop  # the sender inherits it; the listener gets env
    work, traders, traders_file = prepare_traders(options.pairs, "spot-e2e-")
    env = stack_env(
        # Traders here place more than a real one would; the bucket script still runs for every request.
        API_RATE_LIMIT_PER_S="1000000",
        API_RATE_LIMIT_BURST="1000000",
        API_PUBLIC_RATE_LIMIT_PER_S="1000000",
        API_PUBLIC_RATE_LIMIT_BURST="1000000",
    )
    stack = Stack(env, work / "logs")
    rows: list[dict[str, Any]] = []
    status = 0
    try:
        stack.start()
        stack.wait_ready()
        deposit(traders)
        listener = Listener(traders_file, stack.web_port, env, work)
        try:
            for rate in (int(r) for r in options.rates.split(",")):
                phase = run_phase(
                    stack, listener, traders_file, rate, options.seconds, work, options.memory_every
                )
                row = summarize(phase, options.seconds)
                rows.append(row)
                print(
                    f"{rate}/s: achieved {row['achieved']:,.0f}/s, fill p99 {row['fill'][1]:.2f} ms, "
                    f"missing {row['missing_fills']}, errors {row['errors']} ({row['error_pct']:.4f} %) "
                    f"{row['error_samples']}",
                    flush=True,
                )
                saturated = row["achieved"] < 0.9 * rate or not row["fill"][1] < 1000
                if saturated and not options.keep_going:
                    break
        finally:
            listener.stop()
    finally:
        stack.stop()
    print_tables(rows, options.seconds, options.client_loop)
    print_wakeups(rows)
    print_memory(rows)
    print_slices(rows)
    print_journeys(rows)
    if rows:
        # The highest rate the stack kept up with (its CPU per order carries the least idle cost).
        kept = [r for r in rows if r["achieved"] >= 0.9 * r["offered"]] or rows
        best = max(kept, key=lambda r: r["achieved"])
        print_capacity(best, grouped_cpu(best["cpu_us"]))
    status = audit(env)
    drop_keys()
    print(f"\nlogs and raw records: {work}")
    sys.exit(status)


if __name__ == "__main__":
    main()
