from __future__ import annotations

from types import SimpleNamespace

import pytest

from exchange.routing import SymbolRouter, account_shard_for

PLAN = SymbolRouter({"btc": 1, "eth": 2, "sol": 3, "doge": 3}, default_shard=4)


@pytest.mark.parametrize(
    ("symbol", "shard"),
    [("BTC/USDT", 1), ("BTC/USD", 1), ("ETH/USDT", 2), ("SOL/USD", 3), ("DOGE/USD", 3), ("XRP/USDT", 4)],
)
def test_it_routes_symbols_as_the_plan_says(symbol, shard):
    assert PLAN.shard_for(symbol) == shard


def test_a_market_override_wins_over_the_map():
    market = SimpleNamespace(symbol="BTC/EUR", shard_override=7)
    assert PLAN.shard_for_market(market) == 7


def test_the_default_router_reads_settings(settings):
    settings.SYMBOL_SHARDS = {"ada": 5}
    settings.SYMBOL_DEFAULT_SHARD = 9
    router = SymbolRouter.from_settings()
    assert router.shard_for("ADA/USDT") == 5
    assert router.shard_for("BTC/USDT") == 9
    assert router.configured_shards() == [5, 9]


def test_users_spread_over_accounts_shards_by_id():
    assert [account_shard_for(user_id, 3) for user_id in range(6)] == [0, 1, 2, 0, 1, 2]
