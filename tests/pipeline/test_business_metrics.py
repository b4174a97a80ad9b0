"""The workers count accepted orders, trades and traded volume per market, and recently active users."""

from __future__ import annotations

from prometheus_client import REGISTRY

from exchange.pipeline.metrics import RecentUsers


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_accepted_orders_trades_and_volume_are_counted_per_market(pipeline, alice, bob, fee_account):
    accepted_buys = _value("spot_orders_accepted_total", market="BTC/USDT", side="BUY")
    accepted_sells = _value("spot_orders_accepted_total", market="BTC/USDT", side="SELL")
    trades = _value("spot_trades_total", market="BTC/USDT")
    base = _value("spot_traded_base_total", market="BTC/USDT")
    quote = _value("spot_traded_quote_total", market="BTC/USDT")
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()

    pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="0.2")
    pipeline.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="1000")  # no funds: never accepted
    pipeline.run()

    assert _value("spot_orders_accepted_total", market="BTC/USDT", side="BUY") == accepted_buys + 1
    assert _value("spot_orders_accepted_total", market="BTC/USDT", side="SELL") == accepted_sells + 1
    assert _value("spot_trades_total", market="BTC/USDT") == trades + 1
    assert _value("spot_traded_base_total", market="BTC/USDT") == base + 0.2
    assert _value("spot_traded_quote_total", market="BTC/USDT") == quote + 20


def test_the_accounts_worker_exports_the_users_who_placed_orders_lately(pipeline, alice, bob):
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.1")
    pipeline.place(alice, "BTC/USDT", "BUY", price="99.00", quantity="0.1")
    pipeline.place(bob, "BTC/USDT", "SELL", price="200.00", quantity="0.1")
    pipeline.run()

    assert _value("spot_active_users", worker="accounts-0") == 2


def test_recent_users_forgets_those_outside_the_window():
    now = [1_000.0]
    users = RecentUsers(window_ms=60_000, clock=lambda: now[0])
    users.seen(1, 950_000)
    users.seen(2, 990_000)
    users.seen(1, 999_000)
    assert users.count() == 2
    now[0] = 1_055.0
    assert users.count() == 1
    now[0] = 1_100.0
    assert users.count() == 0
