"""Binance's own clients, unmodified, trade on the exchange's /api/v3 (a real stack in processes).

ccxt's `binance` class and python-binance's Client each sign once with an
HMAC key and once with an Ed25519 key (its PEM). Both only have their URLs
pointed at the local API process; the orders go through the real accounts
and matching workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from binance.client import Client as BinanceClient
from django.contrib.auth import get_user_model

from exchange.models import Balance, Market
from exchange.pipeline.order_entry import OrderEntry
from exchange.services.api_keys import issue_api_key, issue_hmac_key, private_key_pem
from tests.api.servers import ServedApi
from tests.pipeline.processes import WorkerProcess, stop_all, wait_for

User = get_user_model()
WAIT_S = 60  # a cap for a loaded machine, not a deadline the exchange must meet


@pytest.fixture
def stack(
    transactional_db: Any, btc_usdt: Market, redis_conn: Any, tmp_path: Path, settings: Any
) -> Iterator[dict[str, Any]]:
    User.objects.create_user(settings.FEE_ACCOUNT_USERNAME)
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    entry = OrderEntry(redis_conn)
    for user in (alice, bob):
        entry.change_funds(user.pk, "USDT", "DEPOSIT", Decimal("100000"), "binance-test", None)
        entry.change_funds(user.pk, "BTC", "DEPOSIT", Decimal("2"), "binance-test", None)
    workers = [WorkerProcess("accounts", 0, tmp_path).start(), WorkerProcess("matching", 1, tmp_path).start()]
    api = ServedApi("granian", tmp_path)
    try:
        api.start()
        wait_for(lambda: Balance.objects.filter(user__in=[alice, bob]).count() == 4, WAIT_S, what="deposits")
        yield {"alice": alice, "bob": bob, "url": f"http://127.0.0.1:{api.port}"}
    finally:
        api.stop()
        stop_all(workers)


def ccxt_client(url: str, key: str, secret: str) -> Any:
    exchange = ccxt.binance(
        {
            "apiKey": key,
            "secret": secret,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    exchange.urls["api"]["public"] = f"{url}/api/v3"
    exchange.urls["api"]["private"] = f"{url}/api/v3"
    return exchange


def python_binance_client(url: str, key: str, pem: str) -> Any:
    client = BinanceClient(key, private_key=pem, ping=False)
    client.API_URL = f"{url}/api"
    return client


def credentials(user: Any, kind: str) -> tuple[str, str]:
    """A key id, and what a Binance client signs with: an HMAC secret, or an Ed25519 key's PEM."""
    if kind == "hmac":
        key = issue_hmac_key(user, "binance client", can_read=True, can_trade=True)
        assert key.secret is not None
        return key.api_key.key_id, key.secret
    key = issue_api_key(user, "binance client", can_read=True, can_trade=True)
    assert key.private_key is not None
    return key.api_key.key_id, private_key_pem(key.private_key)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("ccxt_key", "python_binance_key"), [("hmac", "ed25519"), ("ed25519", "hmac")])
def test_ccxt_and_python_binance_trade_with_each_other_unchanged(
    stack: dict[str, Any], ccxt_key: str, python_binance_key: str
) -> None:
    alice = ccxt_client(stack["url"], *credentials(stack["alice"], ccxt_key))
    bob_key, bob_secret = credentials(stack["bob"], python_binance_key)
    if python_binance_key == "hmac":
        bob = BinanceClient(bob_key, bob_secret, ping=False)
        bob.API_URL = f"{stack['url']}/api"
    else:
        bob = python_binance_client(stack["url"], bob_key, bob_secret)

    # Markets, as each client loads them.
    markets = alice.load_markets()
    assert markets["BTC/USDT"]["precision"]["price"] == pytest.approx(0.01)
    assert markets["BTC/USDT"]["precision"]["amount"] == pytest.approx(0.00001)
    info = bob.get_symbol_info("BTCUSDT")
    assert info["baseAsset"] == "BTC" and info["quoteAsset"] == "USDT"
    assert bob.ping() == {}
    assert abs(bob.get_server_time()["serverTime"] - alice.fetch_time()) < 60_000

    # Bob rests an ask (python-binance, Ed25519); Alice sees it in the book (ccxt).
    ask = bob.order_limit_sell(symbol="BTCUSDT", quantity="0.01", price="30000", newClientOrderId="bob-ask-1")
    assert ask["status"] == "NEW" and ask["clientOrderId"] == "bob-ask-1"
    book = wait_for(lambda: (b := alice.fetch_order_book("BTC/USDT"))["asks"] and b, WAIT_S, what="the ask")
    assert book["asks"][0] == [30000.0, 0.01]

    # Alice takes part of it with a limit and a market order (ccxt, HMAC).
    limit = alice.create_order("BTC/USDT", "limit", "buy", 0.004, 30000)
    assert limit["status"] == "closed" and limit["filled"] == pytest.approx(0.004)
    market = alice.create_order("BTC/USDT", "market", "buy", 0.002)
    assert market["status"] == "closed" and market["filled"] == pytest.approx(0.002)
    assert market["trades"] and market["trades"][0]["price"] == pytest.approx(30000)
    assert alice.fetch_order(limit["id"], "BTC/USDT")["status"] == "closed"
    assert alice.fetch_open_orders("BTC/USDT") == []

    # Bob sees his ask partly filled, then cancels the rest.
    mine = wait_for(
        lambda: (
            (o := bob.get_order(symbol="BTCUSDT", orderId=ask["orderId"]))["executedQty"] == "0.006" and o
        ),
        WAIT_S,
        what="bob's fills persisted",
    )
    assert mine["status"] == "PARTIALLY_FILLED"
    assert [o["orderId"] for o in bob.get_open_orders(symbol="BTCUSDT")] == [ask["orderId"]]
    cancelled = bob.cancel_order(symbol="BTCUSDT", orderId=ask["orderId"])
    assert cancelled["status"] == "CANCELED" and cancelled["executedQty"] == "0.006"

    # The fills, the same trades seen from both sides.
    alice_trades = wait_for(
        lambda: len(t := alice.fetch_my_trades("BTC/USDT")) == 2 and t, WAIT_S, what="trades"
    )
    bob_trades = bob.get_my_trades(symbol="BTCUSDT")
    assert sorted(t["id"] for t in alice_trades) == sorted(str(t["id"]) for t in bob_trades)
    assert all(t["isMaker"] and not t["isBuyer"] for t in bob_trades)
    assert all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in alice_trades)
    # What a bot polls with: everything since a moment (startTime), and nothing after the last.
    first, last = min(t["timestamp"] for t in alice_trades), max(t["timestamp"] for t in alice_trades)
    since_first = alice.fetch_my_trades("BTC/USDT", since=first)
    assert [t["id"] for t in since_first] == [t["id"] for t in alice_trades]
    assert alice.fetch_my_trades("BTC/USDT", since=last + 1) == []
    since_orders = alice.fetch_orders("BTC/USDT", since=first - 60_000)
    assert {o["id"] for o in since_orders} == {limit["id"], market["id"]}
    assert [t["id"] for t in bob.get_my_trades(symbol="BTCUSDT", startTime=first)] == [
        int(t["id"]) for t in alice_trades
    ]

    # Balances, as each client reads them.
    balance = wait_for(
        lambda: (b := alice.fetch_balance())["BTC"]["free"] == pytest.approx(2.006) and b,
        WAIT_S,
        what="balances",
    )
    assert balance["USDT"]["total"] < 100000 - 180
    bob_btc = bob.get_asset_balance(asset="BTC")
    assert Decimal(bob_btc["free"]) == Decimal("1.994") and Decimal(bob_btc["locked"]) == 0

    # Public data after the trades.
    ticker = alice.fetch_ticker("BTC/USDT")
    assert ticker["last"] == pytest.approx(30000) and ticker["baseVolume"] == pytest.approx(0.006)
    assert len(bob.get_recent_trades(symbol="BTCUSDT")) == 2
    candles = alice.fetch_ohlcv("BTC/USDT", "1m")
    assert candles and candles[-1][5] == pytest.approx(0.006)
