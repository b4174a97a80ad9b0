"""The floor benchmark: the exchange's hops with none of its work still carry every order to its fill."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import MySQLdb  # type: ignore[import-untyped]
import pytest
import redis

from benchmarks.stack import ROOT

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("mysql://") or not os.environ.get("REDIS_URL"),
    reason="the floor runs on a real MariaDB and Redis (DATABASE_URL=mysql://..., REDIS_URL)",
)


def test_every_order_placed_on_the_floor_gets_its_fill_and_nothing_is_left_behind() -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"spot_floor_test_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}

    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.e2e.floor", "--rates", "40", "--seconds", "2", "--pairs", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    # offered, achieved, errors, ..., fills missing: every order acknowledged, every fill pushed.
    row = re.search(r"^\| 40 \| (\d+) \| 0 \|(?: [^|]+ \|){8} 0 \|", run.stdout, re.MULTILINE)
    assert row is not None, run.stdout
    assert "| 40 | " in run.stdout.split("CPU µs per order")[1]  # each process's CPU an order
    server = MySQLdb.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root")
    try:
        cursor = server.cursor()
        cursor.execute("SHOW DATABASES LIKE %s", (name,))
        assert cursor.fetchall() == ()  # the floor's database is dropped
    finally:
        server.close()
    assert not list(redis.Redis.from_url(os.environ["REDIS_URL"]).scan_iter(match="spot-floor-*"))
