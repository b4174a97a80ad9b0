"""What one round trip to Redis costs the server's CPU on this machine, whatever it carries.

    REDIS_URL=redis://127.0.0.1:6379/0 python -m benchmarks.e2e.round_trip [--calls 20000]

One client sends each case `--calls` times, one round trip each, and reads
the server's CPU (INFO cpu, user + system) before and after: a bare PING, an
XADD, a script that returns at once, the user-events append script with two
events, and three commands pipelined. On a virtual machine the per round
trip cost (the server's read, write and wake-up) can dwarf the commands'
own work; the end-to-end benchmark's wake-ups an order are read against it
(docs/BENCHMARKS.md, *Wake-ups*). Only keys under its own prefix are
written, and they are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import redis

EVENT = b'{"type":"fill","order_id":"122106087636729856","price":"30000.00","quantity":"0.00100"}'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789abcdefghij")
    from exchange.pipeline.user_events import APPEND_SCRIPT

    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    prefix = f"spot-round-trip-{os.getpid()}"
    append = client.register_script(APPEND_SCRIPT)
    noop = client.register_script("return 1")

    def pipelined() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.incrby(f"{prefix}:n", 2)
        pipe.xadd(f"{prefix}:p", {"0": EVENT, "1": EVENT}, maxlen=1000, approximate=True)
        pipe.publish(f"{prefix}:c", EVENT)
        pipe.execute()

    cases: dict[str, Callable[[], object]] = {
        "PING": client.ping,
        "XADD, one field": lambda: client.xadd(f"{prefix}:x", {"0": EVENT}, maxlen=1000, approximate=True),
        "EVALSHA of `return 1`": noop,
        "user-events append, 2 events": lambda: append(
            keys=[f"{prefix}:e", f"{{{prefix}:e}}:seq"], args=[1000, f"{prefix}:c", EVENT, EVENT]
        ),
        "INCRBY + XADD + PUBLISH pipelined": pipelined,
    }

    def server_cpu() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    print(f"\n# Redis round trips, {time.strftime('%Y-%m-%d %H:%M')}, {options.calls:,} calls a case\n")
    print("| one round trip of | server CPU µs | client wall µs |")
    print("|---|---|---|")
    try:
        for name, call in cases.items():
            for _ in range(200):
                call()
            cpu_before, started = server_cpu(), time.perf_counter()
            for _ in range(options.calls):
                call()
            elapsed, cpu = time.perf_counter() - started, server_cpu() - cpu_before
            print(f"| {name} | {cpu / options.calls * 1e6:.1f} | {elapsed / options.calls * 1e6:.1f} |")
    finally:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
