"""The market maker against the real stack: its orders go through the REST API and reach the book."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from pathlib import Path

import redis
from django.contrib.auth.models import User

from exchange.marketmaker.accounts import ensure_trader
from exchange.marketmaker.client import ApiClient
from exchange.marketmaker.maker import MakerConfig, MarketMaker
from exchange.marketmaker.quoting import quotes
from exchange.models import ApiKey, Balance, LedgerEntry, Order, Trade
from exchange.pipeline.keys import accounts_keys
from tests.pipeline.processes import wait_for
from tests.web.conftest import STACK_TIMEOUT_S, Stack

SYMBOL = "BTC/USDT"
FUNDS = {"USDT": Decimal("1000000"), "BTC": Decimal("20")}


def config(**changes: object) -> MakerConfig:
    values: dict[str, object] = {
        "symbols": (SYMBOL,),
        "levels": 3,
        "spread_bp": 20,
        "step_bp": 10,
        "quote_notional": Decimal(500),
        "volatility_bp": 30,
        "start_prices": {"BTC": Decimal(30000)},
        "taker_chance": 0.0,
        "taker_notional": Decimal(200),
        "taker_reach_bp": 50,
        **changes,
    }
    return MakerConfig(**values)  # type: ignore[arg-type]


def client(stack: Stack, username: str, keys_file: Path) -> ApiClient:
    trader = ensure_trader(username, FUNDS, keys_file)
    wait_for(
        Balance.objects.filter(user_id=trader.user_id, asset__code="BTC", available=FUNDS["BTC"]).exists,
        STACK_TIMEOUT_S,
        what=f"{username}'s deposits",
    )
    return ApiClient(stack.daphne.http_url, trader.key_id, trader.private_key)


def open_quotes(username: str) -> set[tuple[str, Decimal, Decimal]]:
    orders = Order.objects.filter(user__username=username, status__in=("NEW", "PARTIALLY_FILLED"))
    return {(order.side, order.price, order.quantity - order.executed_quantity) for order in orders}


def wanted(maker: MarketMaker) -> set[tuple[str, Decimal, Decimal]]:
    settings = maker.config
    reference = maker.walks[SYMBOL].price
    levels = quotes(
        reference,
        maker.grids[SYMBOL],
        settings.levels,
        settings.spread_bp,
        settings.step_bp,
        settings.quote_notional,
    )
    return {(quote.side, quote.price, quote.quantity) for quote in levels}


def test_the_maker_places_amends_and_its_quotes_rest_on_the_book(stack: Stack, tmp_path: Path) -> None:
    maker = MarketMaker(
        client(stack, "market-maker", tmp_path / "keys.json"), None, config(), random.Random(5)
    )

    first = maker.step()
    assert (first.placed, first.amended, first.cancelled, first.refused) == (6, 0, 0, [])
    wait_for(lambda: open_quotes("market-maker") == wanted(maker), STACK_TIMEOUT_S, what="the first quotes")
    status, depth = maker.maker.get(f"/markets/{SYMBOL}/depth")
    assert status == 200 and len(depth["bids"]) == 3 and len(depth["asks"]) == 3

    # The reference moved: the same orders are amended to the new prices, none is added.
    second = maker.step()
    assert second.placed == 0 and second.amended > 0 and second.refused == []
    wait_for(lambda: open_quotes("market-maker") == wanted(maker), STACK_TIMEOUT_S, what="the amended quotes")
    assert Order.objects.filter(user__username="market-maker").count() == 6


def test_the_taker_trades_against_the_quotes(stack: Stack, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    maker_client, taker_client = client(stack, "market-maker", keys), client(stack, "market-taker", keys)
    maker = MarketMaker(
        maker_client, taker_client, config(taker_chance=0.0, volatility_bp=0), random.Random(2)
    )
    maker.step()  # the quotes alone: a taker order now could trade with them before the wait below sees them
    wait_for(lambda: open_quotes("market-maker") == wanted(maker), STACK_TIMEOUT_S, what="the quotes")
    maker.config = dataclasses.replace(maker.config, taker_chance=1.0)
    assert maker.step().taken == 1
    trade = wait_for(
        lambda: Trade.objects.filter(
            taker_user__username="market-taker", maker_user__username="market-maker"
        ).first(),
        STACK_TIMEOUT_S,
        what="a trade between the taker and the maker",
    )
    assert trade.price in {price for _, price, _ in wanted(maker)}


def test_the_traders_are_made_once_and_a_lost_key_is_replaced(
    stack: Stack, tmp_path: Path, redis_conn: redis.Redis
) -> None:
    keys = tmp_path / "keys.json"
    first = ensure_trader("market-maker", FUNDS, keys)
    assert ensure_trader("market-maker", FUNDS, keys) == first
    assert keys.stat().st_mode & 0o077 == 0
    keys.unlink()
    replaced = ensure_trader("market-maker", FUNDS, keys)
    assert replaced.key_id != first.key_id and replaced.user_id == first.user_id
    assert not ApiKey.objects.get(key_id=first.key_id).is_active
    deposits = LedgerEntry.objects.filter(user_id=first.user_id, kind="DEPOSIT")
    wait_for(lambda: deposits.count() == len(FUNDS), STACK_TIMEOUT_S, what="the deposits")
    commands = accounts_keys(0).stream
    queued = redis_conn.xlen(commands)
    ensure_trader("market-maker", FUNDS, keys)
    assert redis_conn.xlen(commands) == queued  # nothing deposited twice
    assert User.objects.filter(username="market-maker").count() == 1
