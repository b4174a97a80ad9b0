"""The floor under the end-to-end benchmark: the exchange's hops with none of its work, measured the same way.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_floor REDIS_URL=redis://127.0.0.1:6379/0 \\
        python -m benchmarks.e2e.floor [--rates 100,500,1000,1500,2000] [--seconds 20] [--keep-going]

Runs benchmarks.e2e.floor_stack (granian, daphne and two stage workers that
only pass each order on: signature, XADD, read, one INSERT, forward, fills
published, pushed) and drives it with the end-to-end benchmark's own sender
and listener, at each rate in turn, printing the same tables: the achieved
rate, REST and REST → fill latency, and each process's CPU an order (MariaDB
and Redis included). What the exchange spends above these figures is its
own work; what these figures cost already, no change to that work can
remove. Both servers must be real (MariaDB, Redis): the database is made
and dropped, the keys under a prefix of this run's are removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nacl.signing import SigningKey

from benchmarks.e2e.client import CLIENT_LOOP_VARIABLE, DEFAULT_CLIENT_LOOP
from benchmarks.e2e.floor_stack import mysql_connection
from benchmarks.e2e.run import Listener, print_tables, print_wakeups, run_phase, summarize
from benchmarks.stack import ROOT, Stack, stop_children_on_sigterm

SCHEMA = (
    "CREATE TABLE floor_order (id BIGINT PRIMARY KEY, user_id INT NOT NULL, side VARCHAR(4) NOT NULL,"
    " client_order_id VARCHAR(64) NOT NULL)",
    "CREATE TABLE floor_trade (id BIGINT PRIMARY KEY, maker_order BIGINT NOT NULL,"
    " taker_order BIGINT NOT NULL)",
)


class FloorStack(Stack):
    """The floor's four processes, started, watched and stopped as the exchange's are."""

    def start(self) -> None:
        stop_children_on_sigterm()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        lines = {
            "web": f"{python} -m daphne -b 127.0.0.1 -p {self.web_port} benchmarks.e2e.floor_stack:ws_application",
            "api": f"{python} -m granian --interface wsgi --workers 1 --blocking-threads 4 --no-access-log"
            f" --host 127.0.0.1 --port {self.api_port} benchmarks.e2e.floor_stack:api_application",
            "accounts": f"{python} -m benchmarks.e2e.floor_stack accounts",
            "matching": f"{python} -m benchmarks.e2e.floor_stack matching",
        }
        for name, command in lines.items():
            with (self.log_dir / f"{name}.log").open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {command}"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def _ready(self, name: str) -> bool:
        if name not in ("web", "api"):
            return True  # a worker creates its group before it reads: nothing is lost before it runs
        try:
            with socket.create_connection(
                ("127.0.0.1", self.web_port if name == "web" else self.api_port), 1
            ):
                return True
        except OSError:
            return False


def make_traders(pairs: int, work: Path) -> Path:
    traders = [
        {
            "user_id": n + 1,
            "key_id": f"floor-key-{n + 1}",
            "private_key": base64.b64encode(bytes(SigningKey.generate())).decode(),
        }
        for n in range(2 * pairs)
    ]
    path = work / "traders.json"
    path.write_text(json.dumps(traders))
    return path


def database(url: str, create: bool) -> None:
    """The floor's database, dropped and, with `create`, made anew with its two tables."""
    connection = mysql_connection(url, with_database=False)
    name = urlsplit(url).path.lstrip("/")
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        if create:
            cursor.execute(f"CREATE DATABASE `{name}`")
            cursor.execute(f"USE `{name}`")
            for statement in SCHEMA:
                cursor.execute(statement)
    finally:
        connection.close()


def drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="100,500,1000,1500,2000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--keep-going", action="store_true", help="do not stop the sweep at saturation")
    options = parser.parse_args()
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("mysql://") or not redis_url:
        raise SystemExit("set DATABASE_URL (mysql://...) and REDIS_URL: the floor runs on the real servers")
    client_loop = os.environ.setdefault(CLIENT_LOOP_VARIABLE, DEFAULT_CLIENT_LOOP)
    work = Path(tempfile.mkdtemp(prefix="spot-floor-"))
    prefix = f"spot-floor-{os.getpid()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FLOOR_TRADERS": str(make_traders(options.pairs, work)),
        "FLOOR_PREFIX": prefix,
        "FLOOR_DATABASE_URL": database_url,
    }
    database(database_url, create=True)
    stack = FloorStack(env, work / "logs")
    rows: list[dict[str, Any]] = []
    try:
        stack.start()
        stack.wait_ready()
        time.sleep(1)  # the workers' groups
        listener = Listener(Path(env["FLOOR_TRADERS"]), stack.web_port, env, work)
        try:
            for rate in (int(r) for r in options.rates.split(",")):
                row = summarize(
                    run_phase(stack, listener, Path(env["FLOOR_TRADERS"]), rate, options.seconds, work),
                    options.seconds,
                )
                rows.append(row)
                print(
                    f"{rate}/s: achieved {row['achieved']:,.0f}/s, fill p99 {row['fill'][1]:.2f} ms, "
                    f"missing {row['missing_fills']}, errors {row['errors']}",
                    flush=True,
                )
                if (row["achieved"] < 0.9 * rate or not row["fill"][1] < 1000) and not options.keep_going:
                    break
        finally:
            listener.stop()
    finally:
        stack.stop()
        drop_keys(prefix)
        database(database_url, create=False)
    print("\n# the floor: the exchange's hops, none of its work (benchmarks/e2e/floor_stack.py)")
    print_tables(rows, options.seconds, client_loop)
    print_wakeups(rows)
    print(f"\nlogs and raw records: {work}")
    if any(row["missing_fills"] or row["errors"] for row in rows):
        sys.exit("an order was refused or its fill never came (the floor loses nothing when it works)")


if __name__ == "__main__":
    main()
