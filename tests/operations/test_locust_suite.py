"""The locust suite: its requests are signed as the API wants them, its fill timing counts each order once.

Nothing here depends on speed: requests go through the in-process API, the
fill watcher is fed frames with the times they arrived at, and the
locustfile is loaded by locust itself in a process of its own (importing
locust here would monkey-patch this process's sockets and threads).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from benchmarks.locust.fills import FillWatcher
from benchmarks.locust.market import Grid, MovingMid
from benchmarks.locust.signed import API, SignedRequest, Trader, market_path, public
from exchange.api.signing import string_to_sign
from exchange.models import ApiKey, Order
from exchange.services.api_keys import load_public_key
from tests.operations.conftest import Pipeline

GRID = Grid("BTC/USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))


@pytest.fixture
def trader(pipeline: Pipeline, tmp_path: Path) -> Trader:
    out = tmp_path / "load-users.json"
    call_command(
        "provision_load_users",
        "--count",
        "1",
        "--deposit",
        "USDT=100000,BTC=2",
        "--out",
        str(out),
        stdout=StringIO(),
    )
    pipeline.run()
    return Trader.from_keys_entry(json.loads(out.read_text())["users"][0], "http://testserver")


def send(request: SignedRequest) -> Any:
    response = Client().generic(
        request.method, request.target, request.body, content_type="application/json", headers=request.headers
    )
    assert 200 <= response.status_code < 300, (request.name, response.status_code, response.content)
    return response.json()


def test_the_suites_signed_requests_are_accepted_by_the_api(pipeline: Pipeline, trader: Trader) -> None:
    fields = {
        "market": "BTC/USDT",
        "side": "BUY",
        "type": "LIMIT",
        "price": GRID.price(Decimal("50000.017")),
        "quantity": GRID.quantity(Decimal(50000), 3),
        "client_order_id": "lt-1",
    }
    placed = send(trader.place(fields, "POST /orders (maker)"))
    pipeline.run()
    assert Order.objects.get(pk=placed["order_id"]).price == Decimal("50000.01")

    assert send(trader.amend(placed["order_id"], "49990"))["status"] == "PENDING_AMEND"
    pipeline.run()
    [listed] = send(trader.open_orders("BTC/USDT"))["items"]
    assert listed["price"] == "49990"
    assert {item["asset"] for item in send(trader.balances())} >= {"USDT", "BTC"}
    assert send(trader.cancel(placed["order_id"]))["status"] == "PENDING_CANCEL"
    assert send(trader.cancel_all("BTC/USDT"))["status"] == "PENDING_CANCEL"
    pipeline.run()
    assert Order.objects.get(pk=placed["order_id"]).status == "CANCELED"
    assert "bids" in send(public("GET", f"{market_path('BTC/USDT')}/depth?limit=20", "GET depth"))
    assert [m["symbol"] for m in send(public("GET", f"{API}/markets", "GET /markets"))] == [
        "BTC/USDT",
        "ETH/USDT",
    ]


def test_a_deployment_under_a_path_prefix_is_signed_with_it(trader: Trader) -> None:
    prefixed = Trader(trader.user_id, trader.key_id, trader.private_key, "/spot")

    request = prefixed.balances()

    assert request.target == "/spot/api/v1/balances"
    message = string_to_sign(request.headers["X-Spot-Timestamp"], "GET", "/spot/api/v1/balances", b"")
    public_key = load_public_key(ApiKey.objects.get(key_id=trader.key_id).public_key)
    public_key.verify(base64.b64decode(request.headers["X-Spot-Signature"]), message)


def test_the_websocket_login_signs_get_ws(trader: Trader) -> None:
    frame = trader.ws_login(timestamp_ms=1_795_000_000_000)

    assert frame["op"] == "auth" and frame["timestamp"] == "1795000000000"
    message = string_to_sign("1795000000000", "GET", "/ws/", b"")
    public_key = load_public_key(ApiKey.objects.get(key_id=trader.key_id).public_key)
    public_key.verify(base64.b64decode(frame["signature"]), message)


def test_fill_latency_is_one_sample_per_order_whichever_arrives_first() -> None:
    samples: list[float] = []
    watcher = FillWatcher("ws://unused/ws/", {}, samples.append)

    # Ids as both REST and the WebSocket send them: strings.
    watcher.sent("4611686018427387905", at=10.0)
    watcher.on_frame({"type": "fill", "data": {"order_id": "4611686018427387905"}}, now=10.004)
    watcher.on_frame({"type": "fill", "data": {"order_id": "2"}}, now=11.002)  # before its REST answer
    watcher.sent("2", at=11.0)
    watcher.on_frame({"type": "order", "data": {"order_id": "3"}}, now=12.0)
    watcher.on_frame({"type": "fill", "data": {"order_id": "4611686018427387905"}}, now=10.009)  # a 2nd fill

    assert samples == pytest.approx([4.0, 2.0])


def test_prices_and_sizes_land_on_the_grid_and_the_mid_stays_near_its_start() -> None:
    assert GRID.price(Decimal("50000.019")) == "50000.01"
    assert GRID.quantity(Decimal("50000"), 3) == "0.0003"  # 15 USDT at 50,000, in lots of 0.00001
    mid = MovingMid(Decimal(50000), seed=7)
    for _ in range(10_000):
        mid.step()
    assert Decimal(45000) < mid.value < Decimal(55000)


def test_locust_loads_the_suite_and_finds_its_four_kinds_of_trader() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "benchmarks/locust/locustfile.py", "--list"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )

    assert set(listed.stdout.split()) >= {"Maker", "Taker", "Reader", "FillWatching"}
