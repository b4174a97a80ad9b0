"""A Redis Cluster master killed under load: how long writes stop, and what acknowledged orders are lost.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_failover \\
        python -m benchmarks.cluster.failover [--durability NONE,REPLICA] [--rate 300] [--seconds 20]
        [--kill-after 8] [--node-timeout-ms 2000]

For each durability level in turn: starts a local cluster of 3 masters and
3 replicas (spot.local_cluster), the whole stack on it as `make run` starts
it (benchmarks.stack: daphne, the granian order API, one worker per shard)
with STREAM_DURABILITY set, and traders with funds (benchmarks.e2e.run).
A sender process (benchmarks.e2e.sender) offers crossing BTC/USDT orders
over signed REST at a fixed rate; `--kill-after` seconds in, the master
that holds the accounts stream (every order passes it) is killed with
SIGKILL.

It reports:
- *writes stopped*: from the kill to the first write that succeeds again in
  the accounts stream's slot (a probe SETs a key in it every 20 ms);
- *cluster_state ok*: from the kill until a surviving node says the cluster
  is whole again (its replica promoted);
- *workers resumed*: from the kill until the database's order count grows
  again after writes succeed (the workers retry at most a second apart,
  spot/retry.py, so this trails the failover by up to about a second);
- *replica back*: once the cluster is whole, the killed node is started
  again (as Kubernetes or systemd would) and rejoins as the new master's
  replica; from the kill until it is in sync. REPLICA acknowledges nothing
  on the promoted master until then: it has no replica to confirm;
- *API gap*: the longest time between two acknowledged (2xx) orders;
- *acknowledged lost*: orders the API answered 2xx that are not in the
  database once the workers have drained (no new order for 5 s);
- whether every worker still leads its shard at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.e2e import run as e2e
from benchmarks.stack import ROOT, Stack
from spot.local_cluster import LocalCluster

PROBE_INTERVAL_S = 0.02
DRAIN_QUIET_S = 5.0


class Probe(threading.Thread):
    """Writes a key in one slot every 20 ms, through a cluster client, and remembers when each succeeded."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        from spot.redis_connection import connect

        self.client = connect(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.key = key
        self.successes: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.client.set(self.key, "1")
                self.successes.append(time.monotonic())
            except Exception:  # noqa: S110 - any failure is a failed write here
                pass
            time.sleep(PROBE_INTERVAL_S)

    def first_success_after(self, moment: float) -> float | None:
        return next((t for t in self.successes if t > moment), None)


class OrderCounter(threading.Thread):
    """Counts the orders in the database every 100 ms: when the workers write again after the kill."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.counts: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from exchange.models import Order

        try:
            while not self.stopping.is_set():
                self.counts.append((time.monotonic(), Order.objects.count()))
                time.sleep(0.1)
        finally:
            connection.close()

    def first_growth_after(self, moment: float) -> float | None:
        """When the count first grew after `moment`, having stood still since (the workers resumed)."""
        before = [count for at, count in self.counts if at <= moment]
        last = before[-1] if before else 0
        for at, count in self.counts:
            if at > moment:
                if count > last:
                    return at
                last = count
        return None


def wait_state_ok(cluster: LocalCluster, since: float, timeout: float = 60) -> float | None:
    """When a surviving node first says cluster_state:ok with the killed master's slots served again."""
    deadline = since + timeout
    while time.monotonic() < deadline:
        try:
            port = cluster.running_ports()[0]
            client = cluster.node(port)
            try:
                state = client.cluster("info").get("cluster_state")
            finally:
                client.close()
            if state == "ok" and len(cluster.masters()) == 3 and _all_masters_alive(cluster):
                return time.monotonic()
        except Exception:  # noqa: S110 - the cluster is mid-failover: ask again
            pass
        time.sleep(0.02)
    return None


def _all_masters_alive(cluster: LocalCluster) -> bool:
    return set(cluster.masters()) <= set(cluster.running_ports())


def send(stack: Stack, traders_file: Path, rate: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    arguments = [traders_file, stack.api_port, e2e.SYMBOL, e2e.PRICE, e2e.QUANTITY, rate, seconds, out]
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.e2e.sender", *map(str, arguments)],
        cwd=ROOT,
    )


def persisted_order_ids(wanted: set[int]) -> set[int]:
    from django.db import close_old_connections

    from exchange.models import Order

    close_old_connections()
    found: set[int] = set()
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        found.update(Order.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def drain(acknowledged: set[int]) -> set[int]:
    """The acknowledged orders in the database, once no more arrive for DRAIN_QUIET_S."""
    found: set[int] = set()
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < DRAIN_QUIET_S:
        now = persisted_order_ids(acknowledged)
        if len(now) > len(found):
            quiet_since = time.monotonic()
        found = now
        if found == acknowledged:
            break
        time.sleep(0.5)
    return found


def leaders(stack: Stack, since_bytes: dict[str, int]) -> dict[str, bool]:
    """Whether each worker logged taking (back) its lease, or lost it and did not, since the kill."""
    led = {}
    for name in stack.processes:
        if name in ("web", "api", "invariants"):
            continue
        log = (stack.log_dir / f"{name}.log").read_text(errors="replace")
        after = log[since_bytes.get(name, 0) :]
        lost = after.rfind("lost its lease")
        led[name] = stack.processes[name].poll() is None and (lost < 0 or after.rfind(" is leader ") > lost)
    return led


def run_level(durability: str, options: argparse.Namespace, work: Path) -> dict[str, Any]:
    cluster = LocalCluster(node_timeout_ms=options.node_timeout_ms).start()
    os.environ["REDIS_URL"] = cluster.url
    os.environ["STREAM_DURABILITY"] = durability
    from django.conf import settings

    from exchange.pipeline.keys import accounts_keys
    from spot.redis_connection import redis_client, worker_redis_client

    settings.REDIS_URL, settings.STREAM_DURABILITY = cluster.url, durability
    redis_client.cache_clear()
    worker_redis_client.cache_clear()
    level_dir = work / durability.lower()
    level_dir.mkdir()
    traders = e2e.prepare_database(2 * options.pairs)
    traders_file = level_dir / "traders.json"
    traders_file.write_text(json.dumps(traders))
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "STREAM_DURABILITY_TIMEOUT_MS": str(options.wait_timeout_ms),
        "API_RATE_LIMIT_PER_S": "1000000",
        "API_RATE_LIMIT_BURST": "1000000",
    }
    stack = Stack(env, level_dir / "logs")
    stream = accounts_keys(0).stream
    victim = cluster.master_of(stream)
    probe = Probe(cluster.url, f"{e2e.PREFIX}:{{a0}}:failover-probe")
    counter = OrderCounter()
    try:
        stack.start()
        stack.wait_ready()
        e2e.deposit(traders)
        probe.start()
        counter.start()
        out = level_dir / "sent.jsonl"
        sender = send(stack, traders_file, options.rate, options.seconds, out)
        time.sleep(options.kill_after)
        log_sizes = {name: (stack.log_dir / f"{name}.log").stat().st_size for name in stack.processes}
        cluster.kill(victim)
        # Timed once the process is gone: a write answered while it was dying is no success after it.
        killed_at = time.monotonic()
        killed_ns = time.time_ns()
        state_ok_at = wait_state_ok(cluster, killed_at)
        # As a supervisor would: the killed node comes back, as the new master's replica.
        cluster.restart(victim)
        cluster.wait_healthy(60)
        replica_back_at = time.monotonic()
        sender.wait()
        records = [json.loads(line) for line in out.read_text().splitlines()]
        acknowledged = {int(r[5]) for r in records if r[5] is not None}
        persisted = drain(acknowledged)
        written_again = probe.first_success_after(killed_at)
        # Orders the workers had read before the kill are committed during it: growth after writes resume.
        resumed = counter.first_growth_after(written_again or killed_at)
        answered = sorted(r[3] for r in records if r[5] is not None)
        gaps = [(b - a, a, b) for a, b in itertools.pairwise(answered)]
        gap, gap_from, gap_to = max(gaps) if gaps else (0, 0, 0)
        refused_in_gap = sum(1 for r in records if r[5] is None and gap_from <= r[3] <= gap_to)
        return {
            "durability": durability,
            "victim": victim,
            "offered": len(records),
            "acknowledged": len(acknowledged),
            "refused": len(records) - len(acknowledged),
            "writes_stopped_s": None if written_again is None else written_again - killed_at,
            "state_ok_s": None if state_ok_at is None else state_ok_at - killed_at,
            "replica_back_s": replica_back_at - killed_at,
            "workers_resumed_s": None if resumed is None else resumed - killed_at,
            "api_gap_s": gap / 1e9,
            "gap_after_kill_s": (gap_from - killed_ns) / 1e9,
            "refused_in_gap": refused_in_gap,
            "lost": sorted(acknowledged - persisted),
            "leading": leaders(stack, log_sizes),
            "logs": str(stack.log_dir),
        }
    finally:
        probe.stopping.set()
        counter.stopping.set()
        stack.stop()
        e2e.drop_keys()
        cluster.stop()


def print_table(rows: list[dict[str, Any]], options: argparse.Namespace) -> None:
    print(
        f"\n# Redis Cluster failover, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{options.rate}/s for {options.seconds:.0f} s, master killed at {options.kill_after:.0f} s, "
        f"cluster-node-timeout {options.node_timeout_ms} ms\n"
    )
    print(
        "| STREAM_DURABILITY | orders offered | acknowledged | refused | writes stopped s | cluster_state ok s "
        "| workers resumed s | replica back s | longest API gap s | acknowledged lost | workers leading after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        stopped = "-" if r["writes_stopped_s"] is None else f"{r['writes_stopped_s']:.2f}"
        state = "-" if r["state_ok_s"] is None else f"{r['state_ok_s']:.2f}"
        leading = sum(r["leading"].values())
        resumed = "-" if r["workers_resumed_s"] is None else f"{r['workers_resumed_s']:.2f}"
        print(
            f"| {r['durability']} | {r['offered']:,} | {r['acknowledged']:,} | {r['refused']:,} | {stopped} "
            f"| {state} | {resumed} | {r['replica_back_s']:.2f} | {r['api_gap_s']:.2f} | {len(r['lost'])} | {leading} of {len(r['leading'])} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--durability", default="NONE,REPLICA")
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kill-after", type=float, default=8.0)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--node-timeout-ms", type=int, default=2000)
    parser.add_argument("--wait-timeout-ms", type=int, default=1000, help="STREAM_DURABILITY_TIMEOUT_MS")
    options = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/spot_failover")
    os.environ["REDIS_URL"] = "redis+cluster://127.0.0.1:1"  # each level's cluster replaces it
    e2e.setup_django()
    work = Path(tempfile.mkdtemp(prefix="spot-failover-"))
    rows = []
    for durability in options.durability.split(","):
        row = run_level(durability, options, work)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print_table(rows, options)


if __name__ == "__main__":
    main()
