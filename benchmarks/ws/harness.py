"""What the WebSocket benchmarks share: a database with one market, daphne, subscriber processes, a publisher.

The publisher writes trade events exactly where and how the matching worker
does (one XADD per batch to the shard's events stream, one JSON event per
field "0", "1", ..., see exchange.pipeline.workers.MatchingWorker.after_batch),
with one extra field in each event,
"bench_ns", the wall clock just before the XADD, which the subscribers
subtract from the time they read the message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from spot.redis_connection import connect

ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"spot-wsbench-{os.getpid()}"
SYMBOL = "BTC/USDT"
CHANNEL = f"trades:{SYMBOL}"


def setup() -> dict[str, str]:
    """Django against DATABASE_URL (default: a fresh SQLite file) with one market; the servers' environment."""
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL, or run under `python -m spot.embedded_redis -- ...`")
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789abcdefghij")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='spot-wsbench-')}/db.sqlite3"
    os.environ["REDIS_KEY_PREFIX"] = PREFIX
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from exchange.models import Asset, Market

    call_command("migrate", verbosity=0)
    usdt, _ = Asset.objects.get_or_create(code="USDT", defaults={"display_precision": 6})
    btc, _ = Asset.objects.get_or_create(code="BTC", defaults={"display_precision": 8})
    Market.objects.get_or_create(
        symbol=SYMBOL, defaults={"base": btc, "quote": usdt, "tick_size": "0.01", "lot_size": "0.00001"}
    )
    return {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """daphne serving spot.asgi, as the Procfile runs it."""

    def __init__(self, env: dict[str, str], **overrides: str) -> None:
        self.port = free_port()
        self.env = {**env, **overrides}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        args = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "spot.asgi:application",
        ]
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return cpu_seconds(self.process.pid)


class Subscribers:
    """Minimal WebSocket clients (benchmarks.ws.wsclient) on one channel, spread over processes."""

    def __init__(self, port: int, count: int, processes: int = 2, sampled: int = 10) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        for index in range(processes):
            share = count // processes + (1 if index < count % processes else 0)
            sample = sampled // processes + (1 if index < sampled % processes else 0)
            args = [
                sys.executable,
                "-m",
                "benchmarks.ws.wsclient",
                str(port),
                CHANNEL,
                str(share),
                str(sample),
            ]
            self.processes.append(
                subprocess.Popen(
                    args,
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"subscribers did not start: {line!r}")

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.processes)

    def finish(self) -> dict[str, Any]:
        """Totals over the processes: messages and trades of the sampled subscribers, the fewest and
        most bytes any subscriber got, `histogram` (20 µs bucket -> trades)."""
        totals: dict[str, Any] = {
            "seconds": 0.0,
            "sampled": 0,
            "frames": 0,
            "events": 0,
            "closed": 0,
            "bytes_min": None,
            "bytes_max": 0,
            "histogram": {},
        }
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()
        for process in self.processes:
            assert process.stdout is not None
            result = json.loads(process.stdout.readline())
            process.wait(timeout=30)
            totals["seconds"] = max(totals["seconds"], result["seconds"])
            for name in ("sampled", "frames", "events", "closed"):
                totals[name] += result[name]
            low = result["bytes_min"]
            totals["bytes_min"] = low if totals["bytes_min"] is None else min(totals["bytes_min"], low)
            totals["bytes_max"] = max(totals["bytes_max"], result["bytes_max"])
            for bucket, count in result["histogram"].items():
                totals["histogram"][int(bucket)] = totals["histogram"].get(int(bucket), 0) + count
        return totals


class Publisher:
    """Trade events into the market's shard events stream, as the matching worker writes them."""

    def __init__(self) -> None:
        from django.conf import settings

        from exchange.pipeline.keys import matching_keys
        from exchange.routing import SymbolRouter

        self.redis = connect(settings.REDIS_URL)
        self.stream = matching_keys(SymbolRouter.from_settings().shard_for(SYMBOL), PREFIX).events
        self.maxlen = settings.EVENTS_STREAM_MAXLEN
        self.trade_id = 0

    def publish(self, count: int) -> None:
        """`count` trades in one events entry, as one worker batch."""
        events = []
        for _ in range(count):
            self.trade_id += 1
            events.append(
                f'{{"type":"trade","symbol":"{SYMBOL}","trade_id":{self.trade_id},"price":"30000.00",'
                f'"quantity":"0.01000","taker_side":"BUY","ts":{int(time.time() * 1000)},'
                f'"bench_ns":{time.time_ns()}}}'
            )
        fields = {str(index): event for index, event in enumerate(events)}
        self.redis.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]

    def paced(self, rate: float, seconds: float) -> tuple[int, float]:
        """Publish `rate` trades a second for `seconds`; one XADD per trade while on schedule.

        When behind (a slow moment of this process), the trades due go out
        together in one entry, as a matching worker's batch would.
        Returns (trades published, seconds taken).
        """
        started = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = min(100, int(elapsed * rate) + 1 - sent)
            if due > 0:
                self.publish(due)
                sent += due
            else:
                time.sleep(max(0.0, sent / rate - elapsed))
        return sent, time.perf_counter() - started

    def close(self) -> None:
        keys = list(self.redis.scan_iter(match=f"*{PREFIX}:*", count=1000))
        if keys:
            self.redis.delete(*keys)
        self.redis.close()


def percentile_ms(histogram: dict[int, int], fraction: float) -> float:
    """The latency under which `fraction` of the trades arrived, from the clients' 20 µs histogram."""
    from benchmarks.ws.wsclient import BUCKET_NS

    total = sum(histogram.values())
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= fraction * total:
            return (bucket + 1) * BUCKET_NS / 1e6
    return float("nan")
