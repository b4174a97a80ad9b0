"""Binance's allOrders and myTrades: their paging rules, and a page that costs the page, not the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from exchange.models import Market, Order, Trade
from exchange.services.api_keys import IssuedKey, issue_hmac_key
from tests.api.support import order_row
from tests.api.test_binance_wire import call, hmac_signed
from tests.db_reads import rows_read, skip_unless_mariadb

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = 2000


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture
def key(alice: User) -> IssuedKey:
    return issue_hmac_key(alice, "a bot", can_read=True, can_trade=True)


def get(client: Client, key: IssuedKey, path: str, **params: Any) -> Any:
    reply = call(client, "GET", path, key, hmac_signed(key, {"symbol": "BTCUSDT", **params}))
    assert reply.status_code == 200, reply.content
    return reply.json()


def orders(user: User, market: Market, count: int, first_id: int = 1) -> None:
    """`count` filled orders, one a minute from START; ids and times in the same order."""
    Order.objects.bulk_create(
        order_row(
            user,
            market,
            first_id + n,
            client_order_id=f"c{first_id + n}",
            executed_quantity=Decimal("0.001"),
            status="FILLED",
            created_at=minute(n),
            updated_at=minute(n),
        )
        for n in range(count)
    )


def trades(maker: User, taker: User, market: Market, count: int) -> None:
    """`count` trades, one a minute from START, `maker` the maker of the even ones, the taker of the odd."""
    Trade.objects.bulk_create(
        Trade(
            id=n + 1,
            market=market,
            price=Decimal("30000"),
            quantity=Decimal("0.001"),
            quote_quantity=Decimal("30"),
            taker_side="BUY",
            maker_order_id=10_000 + n,
            taker_order_id=20_000 + n,
            maker_user=maker if n % 2 == 0 else taker,
            taker_user=taker if n % 2 == 0 else maker,
            maker_fee=Decimal("0.03"),
            taker_fee=Decimal("0.03"),
            maker_fee_asset=market.quote,
            taker_fee_asset=market.quote,
            executed_at=minute(n),
        )
        for n in range(count)
    )


def order_ids(answer: list[dict[str, Any]]) -> list[int]:
    return [row["orderId"] for row in answer]


def trade_ids(answer: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in answer]


# ------------------------------------------------------------------ the rules


def test_all_orders_pages_as_binance_does(
    client: Client, key: IssuedKey, alice: User, btc_usdt: Market
) -> None:
    orders(alice, btc_usdt, 20)

    assert order_ids(get(client, key, "allOrders", limit=3)) == [18, 19, 20]  # the newest, oldest first
    assert order_ids(get(client, key, "allOrders", orderId=5, limit=3)) == [5, 6, 7]
    since = get(client, key, "allOrders", startTime=millis(minute(10)), limit=3)
    assert order_ids(since) == [11, 12, 13]  # created at minutes 10, 11, 12
    assert [row["time"] for row in since] == [millis(minute(n)) for n in (10, 11, 12)]
    until = get(client, key, "allOrders", endTime=millis(minute(10)), limit=3)
    assert order_ids(until) == [9, 10, 11]  # the newest up to minute 10, oldest first
    window = get(client, key, "allOrders", startTime=millis(minute(3)), endTime=millis(minute(5)))
    assert order_ids(window) == [4, 5, 6]


def test_my_trades_pages_as_binance_does(
    client: Client, key: IssuedKey, alice: User, bob: User, btc_usdt: Market
) -> None:
    trades(alice, bob, btc_usdt, 20)

    newest = get(client, key, "myTrades", limit=3)
    assert trade_ids(newest) == [18, 19, 20]
    assert [row["isMaker"] for row in newest] == [False, True, False]  # alice makes trades 1, 3, 5, ...
    assert trade_ids(get(client, key, "myTrades", fromId=5, limit=3)) == [5, 6, 7]
    assert trade_ids(get(client, key, "myTrades", startTime=millis(minute(10)), limit=3)) == [11, 12, 13]
    assert trade_ids(get(client, key, "myTrades", endTime=millis(minute(10)), limit=3)) == [9, 10, 11]
    window = get(client, key, "myTrades", startTime=millis(minute(3)), endTime=millis(minute(5)))
    assert trade_ids(window) == [4, 5, 6]
    assert trade_ids(get(client, key, "myTrades", orderId=10_004)) == [5]  # alice's order, the maker
    assert trade_ids(get(client, key, "myTrades", orderId=20_005)) == [6]  # alice's order, the taker
    assert get(client, key, "myTrades", orderId=20_004) == []  # bob's order, which took alice's


# ------------------------------------------------------------------ the cost


def test_all_orders_from_a_start_time_reads_the_page_not_the_history(
    client: Client, key: IssuedKey, alice: User, btc_usdt: Market
) -> None:
    skip_unless_mariadb()
    orders(alice, btc_usdt, HISTORY)
    recent = millis(minute(HISTORY - 10))

    before = rows_read()
    since = get(client, key, "allOrders", startTime=recent, limit=5)
    read_since = rows_read() - before
    before = rows_read()
    until = get(client, key, "allOrders", endTime=millis(minute(10)), limit=5)
    read_until = rows_read() - before

    assert order_ids(since) == list(range(HISTORY - 9, HISTORY - 4))
    assert order_ids(until) == list(range(7, 12))
    # The request's own reads (its key, the market) are a few dozen rows.
    assert read_since < 200, f"5 orders from a start time read {read_since} rows of {HISTORY}"
    assert read_until < 200, f"5 orders up to an end time read {read_until} rows of {HISTORY}"


def test_my_trades_from_a_start_time_reads_the_page_not_the_history(
    client: Client, key: IssuedKey, alice: User, bob: User, btc_usdt: Market
) -> None:
    skip_unless_mariadb()
    trades(alice, bob, btc_usdt, HISTORY)

    before = rows_read()
    since = get(client, key, "myTrades", startTime=millis(minute(HISTORY - 10)), limit=5)
    read_since = rows_read() - before
    before = rows_read()
    until = get(client, key, "myTrades", endTime=millis(minute(10)), limit=5)
    read_until = rows_read() - before
    before = rows_read()
    of_order = get(client, key, "myTrades", orderId=10_004)
    read_of_order = rows_read() - before

    assert trade_ids(since) == list(range(HISTORY - 9, HISTORY - 4))
    assert trade_ids(until) == list(range(7, 12))
    assert trade_ids(of_order) == [5]
    assert read_since < 200, f"5 trades from a start time read {read_since} rows of {HISTORY}"
    assert read_until < 200, f"5 trades up to an end time read {read_until} rows of {HISTORY}"
    assert read_of_order < 200, f"one order's trades read {read_of_order} rows of {HISTORY}"
