"""Orders per second through the whole pipeline: accounts worker, matching worker(s), MariaDB, Redis.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        python -m benchmarks.pipeline.throughput [--orders 30000] [--rate 2000]
        [--sustain 8000,10000 --sustain-seconds 15]
        [--rate 500,1000,2000 --latency-rounds 3 --skip throughput sustained baseline]   # latency alone

Uses its own database (created and migrated) and its own Redis key prefix,
and starts real worker processes (`manage.py run_accounts` / `run_matching`).
Prints four tables:

1. drain: N place commands pre-loaded into the accounts stream, then the
   workers started; orders/s from the first entry applied to the last
   commit, with 1 and with 2 matching shards;
2. sustained: a producer feeds orders at a fixed rate (or several) while
   the workers run; whether they keep up: orders/s to the last commit, the
   backlog left when the producer stops, CPU per order of every process;
3. latency at a fixed offered rate (or several, several rounds each: the
   machine is shared, so one run says little): from XADD to the order's
   first update from the matching worker (accepted or filled), p50/p99,
   and each stage's own histogram;
4. the plan's baseline in the same run: one database write per order.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"spot-bench-{os.getpid()}"
USERS = 20


def setup_django(symbol_shards: str, account_shards: int) -> None:
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789abcdefghij")
    os.environ["ACCOUNT_SHARDS"] = str(account_shards)
    os.environ["REDIS_KEY_PREFIX"] = PREFIX
    os.environ["SYMBOL_SHARDS"] = symbol_shards
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    import django

    django.setup()


def prepare_database(users: int) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from exchange.models import Asset, Balance, Market

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # TRUNCATE, not DELETE: deleted rows leave InnoDB's purge threads
        # busy for seconds afterwards, on the cores the next run measures.
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in (
            "exchange_trade",
            "exchange_order",
            "exchange_ledgerentry",
            "exchange_orderhold",
            "exchange_balance",
            "persistence_streamoffset",
            "exchange_market",
            "exchange_asset",
        ):
            cursor.execute(f"TRUNCATE TABLE {table}")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    User = get_user_model()
    User.objects.filter(username__startswith="bench").delete()
    User.objects.get_or_create(username="fees")
    usdt = Asset.objects.create(code="USDT", display_precision=6)
    for code in ("BTC", "ETH"):
        asset = Asset.objects.create(code=code, display_precision=8)
        Market.objects.create(
            symbol=f"{code}/USDT",
            base=asset,
            quote=usdt,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.0001"),
            min_quantity=Decimal("0.0001"),
            min_notional=Decimal("1"),
        )
    ids = []
    assets = {asset.code: asset for asset in Asset.objects.all()}
    for n in range(users):
        user = User.objects.create(username=f"bench{n}")
        ids.append(user.pk)
        for code, amount in (("USDT", "100000000"), ("BTC", "100000"), ("ETH", "100000")):
            Balance.objects.create(user=user, asset=assets[code], available=Decimal(amount))
    return ids


def flush_redis() -> None:
    from spot.redis_connection import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"*{PREFIX}:*", count=5000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def orders(count: int, users: list[int], symbols: list[str], seed: int = 1) -> list[dict[str, Any]]:
    """Limit orders around a mid price: about half cross and trade."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        side = "BUY" if rng.random() < 0.5 else "SELL"
        offset = rng.randint(-20, 20)
        price = Decimal(100 + (offset if side == "BUY" else -offset) // 2)
        made.append(
            {
                "user_id": rng.choice(users),
                "client_order_id": f"b{seed}-{n}",
                "symbol": symbols[n % len(symbols)],
                "side": side,
                "type": "LIMIT",
                "price": price,
                "quantity": Decimal(rng.randint(1, 100)) / 100,
            }
        )
    return made


def preload(batch: list[dict[str, Any]]) -> None:
    from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
    from spot.redis_connection import redis_client

    entry = OrderEntry(redis_client())
    for fields in batch:
        entry.place(PlaceRequest(**fields))


def start_workers(matching_shards: list[int], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "STREAM_TRIM_COMMITTED": "1", "LOG_LEVEL": "WARNING"}
    processes = []
    from django.conf import settings

    specs = [("accounts", shard, 9180 + shard) for shard in range(settings.ACCOUNT_SHARDS)]
    specs += [("matching", shard, 9190 + shard) for shard in matching_shards]
    for kind, shard, port in specs:
        log = open(log_dir / f"{kind}-{shard}.log", "wb")  # noqa: SIM115  (closed with the process)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    *profiler(log_dir / f"{kind}-{shard}.prof"),
                    "manage.py",
                    f"run_{kind}",
                    "--shard",
                    str(shard),
                    "--metrics-port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return processes


def profiler(output: Path) -> list[str]:
    """Runs a worker under cProfile when BENCH_PROFILE=1 (the profile is written on SIGTERM's clean exit)."""
    return ["-m", "cProfile", "-o", str(output)] if os.environ.get("BENCH_PROFILE") == "1" else []


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


def committed_all(consumers: dict[str, str]) -> bool:
    from persistence.models import StreamOffset
    from spot.redis_connection import redis_client

    client = redis_client()
    offsets = dict(StreamOffset.objects.values_list("consumer", "last_entry_id"))
    for name, stream in consumers.items():
        newest: Any = client.xrevrange(stream, count=1)
        if newest and offsets.get(name) != newest[0][0].decode():
            return False
    return True


def wait_quiet(consumers: dict[str, str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        if committed_all(consumers):
            streak += 1
            if streak == 2:
                return time.monotonic()
        else:
            streak = 0
        time.sleep(0.05)
    raise SystemExit(f"workers did not finish within {timeout}s: the benchmark failed")


def scrape(port: int, name: str) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def histogram_mean(port: int, name: str) -> float:
    values = scrape(port, name)
    total = sum(v for k, v in values.items() if k.startswith(f"{name}_sum"))
    count = sum(v for k, v in values.items() if k.startswith(f"{name}_count"))
    return total / count if count else 0.0


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads) so far (Linux /proc)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(watched: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each watched process; for workers, also of the main thread alone."""
    spent = {name: cpu_seconds(pid) for name, pid in watched.items()}
    for name, pid in watched.items():
        if name.startswith(("accounts", "matching")):
            spent[f"{name} main thread"] = cpu_seconds(pid, pid)
    return spent


def service_pids() -> dict[str, int]:
    """The local MariaDB and Redis servers, when they run on this machine."""
    found = {}
    for name, pattern in (("mariadb", "mariadbd|mysqld"), ("redis", "redis-server")):
        out = subprocess.run(["pgrep", "-o", "-x", pattern], capture_output=True, text=True).stdout.split()
        if out:
            found[name] = int(out[0])
    return found


def consumers_for(shards: list[int]) -> dict[str, str]:
    from django.conf import settings

    from exchange.pipeline.keys import accounts_keys, matching_keys

    accounts = {f"accounts-{a}": accounts_keys(a).stream for a in range(settings.ACCOUNT_SHARDS)}
    return accounts | {f"matching-{s}": matching_keys(s).stream for s in shards}


def histogram_quantile(port: int, name: str, quantile: float) -> float:
    """The upper bound of the bucket holding the quantile (what Prometheus' buckets allow)."""
    buckets = sorted(
        (float("inf") if "+Inf" in key else float(key.split('le="')[1].split('"')[0]), count)
        for key, count in scrape(port, f"{name}_bucket").items()
    )
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= quantile * total:
            return bound
    return float("nan")


def run_throughput(
    count: int, users: list[int], symbols: list[str], shards: list[int], log_dir: Path
) -> dict[str, Any]:
    from django.db import connection

    from exchange.models import LedgerEntry, Order, Trade

    flush_redis()
    users = prepare_database(USERS)
    batch = orders(count, users, symbols)
    preload(batch)
    connection.close()
    processes = start_workers(shards, log_dir)
    try:
        from spot.redis_connection import redis_client

        client = redis_client()
        from exchange.pipeline.keys import accounts_keys, matching_keys

        # Measured from the moment every worker is leader (has loaded its state
        # and starts reading), not from process start-up.
        leases = [accounts_keys(0).lease] + [matching_keys(shard).lease for shard in shards]
        while not all(client.get(lease) for lease in leases):
            time.sleep(0.005)
        started = time.monotonic()
        watched = {name: proc.pid for name, proc in zip(consumers_for(shards), processes, strict=True)}
        watched |= service_pids()
        cpu_before = cpu_split(watched)
        finished = wait_quiet(consumers_for(shards), timeout=600)
        elapsed = finished - started
        cpu = {name: seconds - cpu_before[name] for name, seconds in cpu_split(watched).items()}
        flush_ms = histogram_mean(9191, "spot_worker_flush_seconds") * 1000
        flush_rows = histogram_mean(9191, "spot_worker_flush_rows")
        read_batch = histogram_mean(9180, "spot_worker_read_batch_entries")
    finally:
        stop_workers(processes)
    return {
        "orders": count,
        "seconds": elapsed,
        "orders_per_s": count / elapsed,
        "trades": Trade.objects.count(),
        "order_rows": Order.objects.count(),
        "ledger_rows": LedgerEntry.objects.count(),
        "matching_flush_ms": flush_ms,
        "matching_rows_per_flush": flush_rows,
        "accounts_read_batch": read_batch,
        "cpu_us_per_order": {name: seconds * 1e6 / count for name, seconds in cpu.items()},
    }


def run_sustained(
    rate: int, seconds: float, symbols: list[str], shards: list[int], log_dir: Path
) -> dict[str, Any]:
    """Orders fed at a fixed rate while the workers run: does the pipeline keep up?

    The producer stands for the API processes, which run elsewhere in a
    deployment: it builds each order's command beforehand (the same
    claim-and-XADD script the API runs per order) and every 10 ms sends
    those due since its last send in one round trip, so that it takes as
    little of the machine's CPU as it can. The run keeps up if the backlog
    stays small and drains soon after the producer stops.
    """
    from django.db import connection

    from exchange.pipeline.keys import accounts_keys, matching_keys
    from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
    from exchange.pipeline.wire import Command, Wire, first_error
    from spot.redis_connection import redis_client

    flush_redis()
    users = prepare_database(USERS)
    batch = orders(int(rate * seconds), users, symbols, seed=4)
    connection.close()
    client = redis_client()
    entry = OrderEntry(client)
    entry.load_scripts()
    stream = accounts_keys(0).stream
    commands: list[Command] = [entry.place_command(PlaceRequest(**fields)) for fields in batch]
    wire = Wire(client)
    processes = start_workers(shards, log_dir)
    try:
        leases = [accounts_keys(0).lease] + [matching_keys(shard).lease for shard in shards]
        while not all(client.get(lease) for lease in leases):
            time.sleep(0.005)
        watched = {name: proc.pid for name, proc in zip(consumers_for(shards), processes, strict=True)}
        watched |= service_pids() | {"producer": os.getpid()}
        cpu_before = cpu_split(watched)
        lag_peak = 0
        lag_checked = 0.0
        begin, started = time.perf_counter(), time.monotonic()
        sent = 0
        while sent < len(commands):
            due = min(len(commands), int((time.perf_counter() - begin) * rate) + 1)
            if due > sent:
                replies = wire.round_trip(commands[sent:due])
                if first_error(replies) or any(reply[0] != 1 for reply in replies):
                    raise SystemExit(f"an order was not enqueued: {first_error(replies) or replies[:3]}")
                sent = due
            now = time.perf_counter()
            if now - lag_checked >= 0.5:  # the accounts stream's undelivered entries (Redis 7)
                lag_checked = now
                for group in client.xinfo_groups(stream):
                    lag_peak = max(lag_peak, int(group.get("lag") or 0))
            time.sleep(max(0.0, 0.01 - (time.perf_counter() - now)))
        produced = time.perf_counter() - begin
        drained = wait_quiet(consumers_for(shards), timeout=600) - started - produced
        cpu = {name: seconds - cpu_before[name] for name, seconds in cpu_split(watched).items()}
        batches = {
            "accounts entries/read": histogram_mean(9180, "spot_worker_read_batch_entries"),
            "matching entries/read": histogram_mean(9191, "spot_worker_read_batch_entries"),
            "accounts rows/commit": histogram_mean(9180, "spot_worker_flush_rows"),
            "matching rows/commit": histogram_mean(9191, "spot_worker_flush_rows"),
        }
    finally:
        wire.close()
        stop_workers(processes)
    count = len(commands)
    return {
        "offered_per_s": count / produced,
        "orders": count,
        "completed_per_s": count / (produced + drained),
        "drain_s": drained,
        "lag_peak": lag_peak,
        "batches": batches,
        "cpu_us_per_order": {name: seconds * 1e6 / count for name, seconds in cpu.items()},
    }


def listen_for_updates(ready: Any, stop: Any, results: Any) -> None:
    """In a child process: the arrival time of each order's first update that is not a rejection."""
    from exchange.pipeline.user_events import parse_announcement
    from spot.redis_connection import redis_client

    pubsub = redis_client().pubsub()
    pubsub.psubscribe(f"{PREFIX}:user:*")
    while (message := pubsub.get_message(timeout=1)) is None or message["type"] != "psubscribe":
        pass
    ready.set()
    seen: dict[int, float] = {}
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "pmessage":
            arrived = time.perf_counter()
            announced = parse_announcement(message["data"])  # a worker batch's events of one user
            for payload in map(json.loads, announced.events if announced else []):
                if payload.get("type") == "order" and payload.get("status") != "REJECTED":
                    seen.setdefault(int(payload["order_id"]), arrived)
    results.put(seen)


def run_latency(rate: int, seconds: float, users: list[int], log_dir: Path) -> dict[str, Any]:
    from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
    from spot.redis_connection import redis_client

    flush_redis()
    users = prepare_database(USERS)
    processes = start_workers([1], log_dir)
    client = redis_client()
    try:
        from exchange.pipeline.keys import accounts_keys, matching_keys

        while client.get(matching_keys(1).lease) is None or client.get(accounts_keys(0).lease) is None:
            time.sleep(0.01)
        sent: dict[int, float] = {}
        # The listener is a process of its own: as a thread beside the producer
        # it waited for the GIL and its clock read late (measured: p50 inflated
        # by milliseconds at 2,000/s). time.perf_counter is CLOCK_MONOTONIC,
        # one clock for every process of the machine.
        context = multiprocessing.get_context("fork")
        ready, stop = context.Event(), context.Event()
        results: Any = context.Queue()
        listener = context.Process(target=listen_for_updates, args=(ready, stop, results))
        listener.start()
        if not ready.wait(10):
            raise SystemExit("the listener did not subscribe")
        entry = OrderEntry(client)
        batch = orders(int(rate * seconds), users, ["BTC/USDT"], seed=2)
        interval = 1 / rate
        begin = time.perf_counter()
        for n, fields in enumerate(batch):
            target = begin + n * interval
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            before = time.perf_counter()
            placed = entry.place(PlaceRequest(**fields))
            sent[placed.order_id] = before
        offered = len(batch) / (time.perf_counter() - begin)
        time.sleep(1.0)
        stop.set()
        seen: dict[int, float] = results.get(timeout=30)
        listener.join()
        stage = {
            f"{worker} stage p{int(q * 100)} ≤ ms": histogram_quantile(
                port, "spot_worker_stage_latency_seconds", q
            )
            * 1000
            for worker, port in (("accounts", 9180), ("matching", 9191))
            for q in (0.5, 0.99)
        }
    finally:
        stop_workers(processes)
    latencies = sorted((seen[oid] - sent[oid]) * 1000 for oid in sent if oid in seen)
    return {
        "offered_per_s": offered,
        "orders": len(sent),
        "answered": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_ms": latencies[-1],
        "stages": stage,
    }


def run_baseline(count: int, users: list[int]) -> dict[str, Any]:
    """The plan's starting point: every order written by itself, in its own transaction."""
    from django.utils import timezone

    from exchange.models import Market, Order

    users = prepare_database(USERS)
    market = Market.objects.get(symbol="BTC/USDT")
    batch = orders(count, users, ["BTC/USDT"], seed=3)
    started = time.monotonic()
    for n, fields in enumerate(batch):
        now = timezone.now()
        Order.objects.create(
            id=10_000_000 + n,
            user_id=fields["user_id"],
            market=market,
            client_order_id=fields["client_order_id"],
            side=fields["side"],
            type="LIMIT",
            price=fields["price"],
            quantity=fields["quantity"],
            created_at=now,
            updated_at=now,
        )
    elapsed = time.monotonic() - started
    return {"orders": count, "seconds": elapsed, "orders_per_s": count / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument(
        "--rate",
        default="2000",
        help="offered orders/s of the latency phase; a list runs each: 500,1000,2000",
    )
    parser.add_argument(
        "--latency-rounds", type=int, default=1, help="run the latency phase this many times per rate"
    )
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument(
        "--sustain",
        default="8000,10000",
        help="offered orders/s of the sustained phase (a producer feeds the running workers); a list runs each",
    )
    parser.add_argument("--sustain-seconds", type=float, default=15)
    parser.add_argument("--baseline-orders", type=int, default=2_000)
    parser.add_argument("--account-shards", type=int, default=1)
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["throughput", "two-shards", "sustained", "latency", "baseline"],
        help="phases to leave out (two-shards: the drain with two matching shards)",
    )
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("mysql"):
        raise SystemExit("set DATABASE_URL=mysql://.../spot_bench: the benchmark measures MariaDB/MySQL")
    subprocess.run(
        [
            "mysql",
            "-h",
            "127.0.0.1",
            "-u",
            "root",
            "-e",
            f"CREATE DATABASE IF NOT EXISTS {re.split('[/?]', url)[3]}",
        ],
        check=False,
    )
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", ROOT / "var" / "bench-logs"))
    log_dir.mkdir(parents=True, exist_ok=True)
    setup_django("btc=1,eth=2,*=2", options.account_shards)
    users: list[int] = []

    print(f"# pipeline benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores\n")
    one: dict[str, Any] = {}
    if "throughput" not in options.skip:
        # The setup first (one matching worker), then two matching shards against it.
        one = run_throughput(options.orders, users, ["BTC/USDT"], [1], log_dir)
        accounts = f"{options.account_shards} accounts shard{'s' if options.account_shards > 1 else ''}"
        rows = [(f"{accounts}, 1 matching shard (BTC)", one)]
        if "two-shards" not in options.skip:
            two = run_throughput(options.orders, users, ["BTC/USDT", "ETH/USDT"], [1, 2], log_dir)
            rows.append((f"{accounts}, 2 matching shards (BTC, ETH)", two))
        print(
            "| setup | orders | seconds | orders/s | trades | ledger rows | matching flush ms | rows/flush | accounts batch |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, r in rows:
            print(
                f"| {name} | {r['orders']:,} | {r['seconds']:.2f} | {r['orders_per_s']:,.0f} | {r['trades']:,} | "
                f"{r['ledger_rows']:,} | {r['matching_flush_ms']:.2f} | {r['matching_rows_per_flush']:.0f} | "
                f"{r['accounts_read_batch']:.0f} |"
            )
        for name, r in rows:  # the processes differ per setup: a table each
            spent = r["cpu_us_per_order"]
            total = sum(value for key, value in spent.items() if not key.endswith("main thread"))
            print(f"\n| CPU µs per order, {name} | " + " | ".join(spent) + " | total |")
            print("|---|" + "---|" * (len(spent) + 1))
            print("| | " + " | ".join(f"{value:.0f}" for value in spent.values()) + f" | {total:.0f} |")
    if "sustained" not in options.skip:
        print(
            "\nSustained: a producer feeds orders at a fixed rate to 1 accounts and 1 matching worker (BTC);"
            " completed/s counts to the last commit, drain is what was left when the producer stopped:\n"
        )
        for rate in (int(text) for text in str(options.sustain).split(",")):
            sus = run_sustained(rate, options.sustain_seconds, ["BTC/USDT"], [1], log_dir)
            spent = sus["cpu_us_per_order"]
            total = sum(value for key, value in spent.items() if not key.endswith("main thread"))
            processes = {name: value for name, value in spent.items() if not name.endswith("main thread")}
            if rate == int(str(options.sustain).split(",")[0]):
                print(
                    "| offered/s | orders | completed/s | drain s | peak backlog | "
                    + " | ".join(sus["batches"])
                    + " | CPU µs/order: "
                    + " | ".join(processes)
                    + " | total |"
                )
                print("|---|---|---|---|---|" + "---|" * (len(sus["batches"]) + len(processes) + 1))
            print(
                f"| {sus['offered_per_s']:,.0f} | {sus['orders']:,} | {sus['completed_per_s']:,.0f} | "
                f"{sus['drain_s']:.2f} | {sus['lag_peak']:,} | "
                + " | ".join(f"{value:.0f}" for value in sus["batches"].values())
                + " | "
                + " | ".join(f"{value:.0f}" for value in processes.values())
                + f" | {total:.0f} |",
                flush=True,
            )
    if "latency" not in options.skip:
        print(
            "\nLatency from before the XADD to the order's first update; then each stage's own view, from the"
            " XADD of its input entry to the send of its outputs (the bucket holding the quantile; the entry"
            " id's millisecond reads up to 1 ms high):\n"
        )
        stage_columns = ""
        for round_number in range(1, options.latency_rounds + 1):
            for rate in (int(text) for text in str(options.rate).split(",")):
                lat = run_latency(rate, options.latency_seconds, users, log_dir)
                if not stage_columns:
                    stage_columns = " | ".join(lat["stages"])
                    print(
                        "| offered orders/s | round | orders | answered | XADD→first update p50 ms | p99 ms | "
                        f"max ms | {stage_columns} |"
                    )
                    print("|---|---|---|---|---|---|---|" + "---|" * len(lat["stages"]))
                print(
                    f"| {lat['offered_per_s']:,.0f} | {round_number} | {lat['orders']:,} | {lat['answered']:,} | "
                    f"{lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | {lat['max_ms']:.2f} | "
                    + " | ".join(f"{value:g}" for value in lat["stages"].values())
                    + " |",
                    flush=True,
                )
    if "baseline" not in options.skip:
        base = run_baseline(options.baseline_orders, users)
        print(
            "\n| the plan's baseline: one DB write per order | orders | seconds | orders/s | pipeline / baseline |"
        )
        print("|---|---|---|---|---|")
        print(
            f"| Order.objects.create per order | {base['orders']:,} | {base['seconds']:.2f} | "
            f"{base['orders_per_s']:,.0f} | {one.get('orders_per_s', 0) / base['orders_per_s']:.1f}x |"
        )
    flush_redis()  # this run's keys (its prefix is its own) go with it


if __name__ == "__main__":
    main()
