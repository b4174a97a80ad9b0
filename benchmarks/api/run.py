"""POST /orders through a real API process: signature check, validation, rate gate and stream write.

Starts each way of serving the API as one process pinned to one core, drives
it with wrk (pre-signed, distinct requests: a signature is accepted once),
and prints a table:

- max:      wrk -t2 -c{connections} for {duration}s, closed loop, as fast as the process answers
- paced:    wrk -t1 -c13 with 10 ms between a connection's requests (~1,000 orders/s)
- CPU:      CPU time of the server's processes per order, so figures survive a busy machine

    python -m benchmarks.api.run [--duration 10] [--servers lean,lean+db-check,ninja-wsgi,ninja-asgi]

Uses DATABASE_URL and REDIS_URL when set (MariaDB and a real Redis), else a
fresh SQLite file and the embedded Redis. Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
LUA = Path(__file__).with_name("signed_requests.lua")
SERVER_CORE, LOAD_CORE = "1", "0"
# ~1,000 orders/s: each connection sends, waits for the answer, then PACE_MS more.
PACED_CONNECTIONS, PACE_MS = 13, 10

_GRANIAN = [str(BIN / "granian"), "--interface", "wsgi", "--workers", "1", "--blocking-threads", "{threads}",
            "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", "--port", "{port}"]  # fmt: skip
_NO_DB_CHECK = {"API_CLIENT_ID_DB_CHECK": "0"}


@dataclass(frozen=True)
class Server:
    command: list[str]
    env: dict[str, str]
    about: str


SERVERS = {
    "lean": Server([*_GRANIAN, "exchange.api.serving:application"], _NO_DB_CHECK,
                   "the lean path in front of Django under granian WSGI (the Procfile's api process)"),
    "lean+db-check": Server([*_GRANIAN, "exchange.api.serving:application"], {"API_CLIENT_ID_DB_CHECK": "1"},
                            "the same, looking each client order id up in the database (after a Redis restart)"),
    "ninja-wsgi": Server([*_GRANIAN, "spot.wsgi:application"], _NO_DB_CHECK,
                         "the ninja view behind Django's middleware, same server"),
    "ninja-asgi": Server([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "spot.asgi:application"],
                         _NO_DB_CHECK, "the ninja view under Django's ASGI handler in daphne (the web process)"),
}  # fmt: skip


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Row:
    server: str
    max_run: WrkResult
    max_cpu_us: float
    paced: WrkResult


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", core, *command] if shutil.which("taskset") else command


@contextmanager
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from spot.embedded_redis import start_server

    port = free_port()
    server = start_server(port, None)
    if shutil.which("taskset"):
        # Beside wrk, off the API process's core.
        subprocess.run(["taskset", "-p", "-c", LOAD_CORE, str(server.pid)], check=True, capture_output=True)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def server_environment(database_url: str, redis: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "spot.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdefghij",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis,
            "REDIS_KEY_PREFIX": prefix,
            "LOG_LEVEL": "WARNING",
            # The load is one key: the bucket still runs per request, it just never empties.
            "API_RATE_LIMIT_PER_S": "1000000",
            "API_RATE_LIMIT_BURST": "1000000",
            "API_PUBLIC_RATE_LIMIT_PER_S": "1000000",
            "API_PUBLIC_RATE_LIMIT_BURST": "1000000",
            # Requests are signed before the run starts; the window check still runs.
            "API_RECV_WINDOW_MS": "900000",
        }
    )
    return env


def prepare(env: dict[str, str]) -> tuple[str, str]:
    """Migrate, create the market and a trader with a trading key; return (key id, private key)."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "from decimal import Decimal\n"
        "from django.contrib.auth import get_user_model\n"
        "from exchange.models import Asset, Market\n"
        "from exchange.services.api_keys import issue_api_key\n"
        "btc, _ = Asset.objects.get_or_create(code='BTC')\n"
        "usdt, _ = Asset.objects.get_or_create(code='USDT')\n"
        "Market.objects.get_or_create(symbol='BTC/USDT', defaults=dict(base=btc, quote=usdt,"
        " tick_size=Decimal('0.01'), lot_size=Decimal('0.00001'), min_quantity=Decimal('0.00001'),"
        " min_notional=Decimal('5')))\n"
        "user, _ = get_user_model().objects.get_or_create(username='bench-trader')\n"
        "key = issue_api_key(user, 'benchmark', can_read=True, can_trade=True)\n"
        "print(key.api_key.key_id, key.private_key)\n"
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[-2], out[-1]


def write_requests(path: Path, key_id: str, private_text: str, count: int, port: int, tag: str) -> None:
    """`count` distinct signed order requests, as raw HTTP, for the wrk script."""
    from exchange.api.signing import private_key_from_text, signed_headers

    private = private_key_from_text(private_text)
    with path.open("wb") as out:
        for n in range(count):
            order = {
                "market": "BTC/USDT",
                "side": "BUY" if n % 2 else "SELL",
                "type": "LIMIT",
                "price": f"{29_950 + n % 100}.{n % 100:02d}",
                "quantity": "0.001",
                "client_order_id": f"{tag}-{n}",
            }
            body = json.dumps(order, separators=(",", ":")).encode()
            headers = signed_headers(key_id, private, "POST", "/api/v1/orders", body)
            head = (
                f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                + "\r\n"
            ).encode()
            out.write(f"{len(head) + len(body)}\n".encode() + head + body)


@contextmanager
def serving(name: str, env: dict[str, str], threads: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    server = SERVERS[name]
    command = [part.format(port=port, threads=threads) for part in server.command]
    process = subprocess.Popen(pinned(SERVER_CORE, command), cwd=ROOT, env={**env, **server.env})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{name} did not start") from None
                time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and all its live descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += times.get(pid, 0.0)
        frontier.extend(child for child, parent in parents.items() if parent == pid)
    return total


def wrk(
    port: int, requests_file: Path, duration: int, threads: int, connections: int, pace_ms: int | None
) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA),
               f"http://127.0.0.1:{port}", "--", str(requests_file), str(threads)]  # fmt: skip
    env = dict(os.environ)
    if pace_ms is not None:
        command.append(str(pace_ms))
        env["WRK_PACED"] = "1"
    output = subprocess.run(
        pinned(LOAD_CORE, command), env=env, check=True, capture_output=True, text=True
    ).stdout
    return parse_wrk(output)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> WrkResult:
    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match, output
        return float(match.group(1)) * _UNITS[match.group(2)]

    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", output)
    assert done, output
    seconds = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        int(done.group(1)), seconds, int(non_2xx.group(1)) if non_2xx else 0, latency("50"), latency("99")
    )


def measure(
    name: str, env: dict[str, str], key: tuple[str, str], args: argparse.Namespace, work: Path
) -> Row:
    if SERVERS[name].env.get("API_CLIENT_ID_DB_CHECK") == "1":
        _as_after_a_redis_restart(env)
    with serving(name, env, args.blocking_threads) as (port, process):
        files = {}
        for phase, count in (
            ("warm", 2_000),
            ("max", args.duration * 7_000),
            ("paced", args.duration * 1_300),
        ):
            files[phase] = work / f"{name}-{phase}.req"
            write_requests(
                files[phase],
                *key,
                count,
                port,
                re.sub(r"[^A-Za-z0-9]", "-", f"{name}-{phase}-{secrets.token_hex(3)}"),
            )
        wrk(port, files["warm"], 1, 1, 4, None)
        cpu_before = tree_cpu_seconds(process.pid)
        max_run = wrk(port, files["max"], args.duration, 2, args.connections, None)
        cpu_us = (tree_cpu_seconds(process.pid) - cpu_before) / max(1, max_run.requests) * 1e6
        paced = wrk(port, files["paced"], args.duration, 1, PACED_CONNECTIONS, PACE_MS)
    return Row(name, max_run, cpu_us, paced)


def table(rows: list[Row]) -> str:
    lines = [
        "| server | max orders/s | p50 ms | p99 ms | CPU µs/order | orders/s per core | paced orders/s | "
        "paced p50 ms | paced p99 ms | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.server} | {row.max_run.rate:,.0f} | {row.max_run.p50_ms:.2f} | {row.max_run.p99_ms:.2f} | "
            f"{row.max_cpu_us:.0f} | {1e6 / row.max_cpu_us:,.0f} | {row.paced.rate:,.0f} | "
            f"{row.paced.p50_ms:.2f} | {row.paced.p99_ms:.2f} | {row.max_run.non_2xx + row.paced.non_2xx} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (max 60)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--blocking-threads", type=int, default=4, help="granian's Python threads")
    parser.add_argument("--servers", default=",".join(SERVERS))
    args = parser.parse_args()
    args.duration = min(args.duration, 60)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="spot-bench-api-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    prefix = f"bench-api-{secrets.token_hex(4)}"
    try:
        with redis_url() as redis:
            env = server_environment(database_url, redis, prefix)
            os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")})
            key = prepare(env)
            rows = [measure(name, env, key, args, work) for name in args.servers.split(",")]
            _drop_keys(redis, prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nPOST /api/v1/orders, one server process on core {SERVER_CORE}, wrk on core {LOAD_CORE}; "
          f"database {database_url.split(':', 1)[0]}; {args.duration}s per run, max run with "
          f"{args.connections} connections, paced run {PACED_CONNECTIONS} connections x {PACE_MS} ms\n")  # fmt: skip
    print(table(rows))
    print()
    for row in rows:
        print(f"- {row.server}: {SERVERS[row.server].about}")


def _as_after_a_redis_restart(env: dict[str, str]) -> None:
    """Mark another Redis server as the last to serve the claims, so the API looks every client
    order id up in the database for the window, as it does after Redis restarts (ADR 0016)."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    marker = f"{env['REDIS_KEY_PREFIX']}:claims-server"
    client.hset(marker, mapping={"run_id": "a-server-that-is-gone", "since_ms": 0})
    client.close()


def _drop_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"*{prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


if __name__ == "__main__":
    main()
