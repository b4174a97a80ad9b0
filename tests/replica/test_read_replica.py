"""Traders' reads go to a real MariaDB replica while it keeps up, and to the primary while it lags.

The test starts its own primary (binary log on) and a replica of it (two
mariadbd processes), migrates and seeds the primary, and runs the API
(granian) with DATABASE_URL on the primary and DATABASE_REPLICA_URL on the
replica. Stopping the replica's SQL thread makes it a stale copy on demand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exchange.api.signing import private_key_from_text, signed_headers
from tests.api.servers import COMMANDS
from tests.pipeline.processes import ROOT, wait_for, worker_env
from tests.replica.mariadb_pair import MariaDb, replicate

WAIT_S = 90  # a cap for a loaded machine, not a deadline
DATABASE = "spot"

SEED = """
from datetime import UTC, datetime
from decimal import Decimal
from django.contrib.auth import get_user_model
from exchange.models import Asset, Market, Order
from exchange.services.api_keys import issue_api_key
from persistence.models import StreamOffset
btc = Asset.objects.create(code="BTC")
usdt = Asset.objects.create(code="USDT")
Market.objects.create(
    symbol="BTC/USDT", base=btc, quote=usdt, tick_size=Decimal("0.01"), lot_size=Decimal("0.001")
)
alice = get_user_model().objects.create_user("alice")
key = issue_api_key(alice, "reader", can_read=True)
StreamOffset.objects.create(consumer="matching-1", stream="s")
print("KEY", key.api_key.key_id, key.private_key)
"""

# An order as the matching worker would write it, straight into the primary.
ORDER_SQL = (
    "INSERT INTO exchange_order (id, user_id, market_id, client_order_id, side, type, time_in_force, "
    "post_only, self_trade_prevention, price, quantity, quote_quantity, executed_quantity, executed_quote, "
    "status, reject_reason, engine_sequence, created_at, updated_at) SELECT {id}, u.id, m.id, 'c{id}', "
    "'BUY', 'LIMIT', 'GTC', 0, 'CANCEL_NEWEST', 30000, 0.001, NULL, 0, 0, 'NEW', '', {id}, NOW(6), NOW(6) "
    "FROM auth_user u, exchange_market m WHERE u.username = 'alice'"
)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[MariaDb, MariaDb]]:
    primary = MariaDb("primary", tmp_path, server_id=11, binlog=True)
    replica = MariaDb("replica", tmp_path, server_id=12, binlog=False)
    try:
        primary.start()
        replica.start()
        replicate(primary, replica)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


class Api:
    def __init__(self, env: dict[str, str], log: Path, port: int, key_id: str, seed: str) -> None:
        args = [sys.executable, *(arg.format(port=port) for arg in COMMANDS["granian"])]
        self.port = port
        self.key_id = key_id
        self.private = private_key_from_text(seed)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def get(self, target: str, signed: bool = True) -> tuple[int, Any]:
        import http.client

        headers = signed_headers(self.key_id, self.private, "GET", target) if signed else {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return response.status, json.loads(body) if body[:1] in (b"{", b"[") else body.decode()
        finally:
            connection.close()

    def order_ids(self) -> list[str]:
        status, body = self.get("/api/v1/orders")
        assert status == 200, body
        return [item["order_id"] for item in body["items"]]

    def replica_in_use(self) -> float:
        _, text = self.get("/metrics", signed=False)
        match = re.search(r"^spot_db_replica_in_use ([0-9.]+)$", text, re.M)
        assert match, text[:2000]
        return float(match.group(1))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.mark.timeout(600)
def test_reads_go_to_the_replica_and_back_to_the_primary_while_it_lags(
    pair: tuple[MariaDb, MariaDb], tmp_path: Path, settings: Any
) -> None:
    primary, replica = pair
    primary.execute(f"CREATE DATABASE {DATABASE}")
    env = worker_env(
        DATABASE_URL=primary.url(DATABASE),
        DATABASE_REPLICA_URL=replica.url(DATABASE),
        DATABASE_REPLICA_MAX_LAG_MS="1000",
        ALLOWED_HOSTS="127.0.0.1",
        API_RATE_LIMIT_PER_S="10000",
        API_RATE_LIMIT_BURST="10000",
        API_PUBLIC_RATE_LIMIT_PER_S="10000",
        API_PUBLIC_RATE_LIMIT_BURST="10000",
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    key_id, seed = manage(env, "shell", "-c", SEED).split("KEY ")[1].split()
    primary.execute(ORDER_SQL.format(id=1001), DATABASE)
    wait_for(
        lambda: replica.execute("SELECT COUNT(*) FROM exchange_order", DATABASE)[0][0] == 1,
        WAIT_S,
        what="replication",
    )
    from spot.embedded_redis import free_port

    api = Api(env, tmp_path / "api.log", free_port(), key_id, seed)
    try:
        wait_for(lambda: _answers(api), WAIT_S, what="the API to listen")
        assert api.order_ids() == ["1001"]
        assert api.replica_in_use() == 1

        # The replica stops applying; the primary gets an order the replica does not have.
        replica.execute("STOP SLAVE SQL_THREAD")
        primary.execute(ORDER_SQL.format(id=1002), DATABASE)
        # The list is read on the replica: no commit of the pipeline is newer there, it is not late.
        assert api.order_ids() == ["1001"]
        # Read your own writes: an order by its id is read on the primary.
        status, order = api.get("/api/v1/orders/1002")
        assert status == 200 and order["status"] == "NEW"

        # A pipeline commit the replica has not applied: it is late by more than the bound.
        primary.execute(
            "UPDATE persistence_streamoffset SET updated_at = NOW(6) + INTERVAL 5 SECOND", DATABASE
        )
        wait_for(lambda: api.order_ids() == ["1002", "1001"], WAIT_S, what="reads to move to the primary")
        assert api.replica_in_use() == 0

        # Caught up again, the replica serves the reads.
        replica.execute("START SLAVE SQL_THREAD")
        # (each read re-checks the lag at most once a second; the gauge tells which database answered)
        wait_for(
            lambda: api.order_ids() and api.replica_in_use() == 1,
            WAIT_S,
            what="reads to return to the replica",
        )
        assert api.order_ids() == ["1002", "1001"]
    finally:
        api.stop()


def _answers(api: Api) -> bool:
    try:
        return api.get("/healthz", signed=False)[0] == 200
    except OSError:
        time.sleep(0.1)  # not listening yet
        return False
