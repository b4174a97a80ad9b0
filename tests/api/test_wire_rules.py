"""Every REST answer, walked surface by surface: amounts by exchange.amounts' one text rule, ids as strings.

The walk calls every operation of the OpenAPI document (a test checks that
none is missed) with data whose amounts are written the loose ways a client
or a column writes them ("12000.00", 18 places, a market's grid), and checks
every field of every answer by its name. A field a later change adds must be
classified here, or the classification test fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from exchange.api.urls import api
from exchange.models import Balance, Market, Trade
from exchange.services.candles import backfill
from tests.api.support import Reply, SignedClient, persist_order

pytestmark = pytest.mark.django_db

AMOUNT = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")
SIGNED_AMOUNT = re.compile(r"^(0|-?[1-9][0-9]*(\.[0-9]*[1-9])?|-?0\.[0-9]*[1-9])$")

AMOUNT_FIELDS = frozenset(
    {
        "price",
        "quantity",
        "quote_quantity",
        "executed_quantity",
        "executed_quote",
        "fee",
        "available",
        "locked",
        "total",
        "tick_size",
        "lot_size",
        "min_quantity",
        "min_notional",
        "maker_fee_rate",
        "taker_fee_rate",
        "open",
        "high",
        "low",
        "close",
        "last",
        "volume",
        "quote_volume",
        "best_bid",
        "best_ask",
        "stop_price",
        "display_quantity",
    }
)
SIGNED_AMOUNT_FIELDS = frozenset({"change"})
LEVEL_FIELDS = frozenset({"bids", "asks"})  # lists of [price, quantity]
ID_FIELDS = frozenset({"order_id", "trade_id", "id"})
ID = re.compile(r"^[1-9][0-9]{0,18}$")
OTHER_FIELDS = frozenset(
    {
        "client_order_id",
        "market",
        "symbol",
        "base",
        "quote",
        "asset",
        "fee_asset",
        "side",
        "taker_side",
        "liquidity",
        "type",
        "time_in_force",
        "post_only",
        "self_trade_prevention",
        "status",
        "reject_reason",
        "duplicate",
        "created_at",
        "updated_at",
        "executed_at",
        "triggered_at",
        "expire_at",
        "window_start",
        "window_end",
        "open_time",
        "trades",
        "seq",
        "items",
        "next_cursor",
        "code",
        "message",
    }
)

# Written as loosely as the inputs allow: trailing zeros, the grid's places.
PRICE_IN = "12000.00"
QUANTITY_IN = "0.00100"
# Ids past 2^53, where a JSON number would lose digits in JavaScript.
PERSISTED_ORDER = (3_000_000_000 << 22) | (5 << 10)
SECOND_ORDER = PERSISTED_ORDER + (1 << 10)
BOB_ORDER = PERSISTED_ORDER + (2 << 10)
FIRST_TRADE = 2**53 + 1


def amount_problems(payload: Any, where: str = "") -> Iterator[str]:
    """Every field of an answer, nested or listed, that breaks the amount rule."""
    if isinstance(payload, list):
        for index, item in enumerate(payload):
            yield from amount_problems(item, f"{where}[{index}]")
        return
    if not isinstance(payload, dict):
        return
    for name, value in payload.items():
        path = f"{where}.{name}"
        if name in AMOUNT_FIELDS | SIGNED_AMOUNT_FIELDS:
            rule = SIGNED_AMOUNT if name in SIGNED_AMOUNT_FIELDS else AMOUNT
            if value is not None and not (isinstance(value, str) and rule.fullmatch(value)):
                yield f"{path} = {value!r}"
        elif name in LEVEL_FIELDS:
            for index, level in enumerate(value):
                for amount in level:
                    if not (isinstance(amount, str) and AMOUNT.fullmatch(amount)):
                        yield f"{path}[{index}] = {level!r}"
        else:
            yield from amount_problems(value, path)


def id_problems(payload: Any, where: str = "") -> Iterator[str]:
    """Every id field, nested or listed, that is not a decimal string."""
    if isinstance(payload, list):
        for index, item in enumerate(payload):
            yield from id_problems(item, f"{where}[{index}]")
    elif isinstance(payload, dict):
        for name, value in payload.items():
            if name in ID_FIELDS and not (isinstance(value, str) and ID.fullmatch(value)):
                yield f"{where}.{name} = {value!r}"
            elif name not in ID_FIELDS:
                yield from id_problems(value, f"{where}.{name}")


def _trade(trade_id: int, market: Market, maker: User, taker: User, price: str, at: Any) -> Trade:
    quantity = Decimal("0.00500")
    return Trade.objects.create(
        id=trade_id,
        market=market,
        price=Decimal(price),
        quantity=quantity,
        quote_quantity=Decimal(price) * quantity,
        taker_side="BUY",
        maker_order_id=PERSISTED_ORDER,
        taker_order_id=BOB_ORDER,
        maker_user=maker,
        taker_user=taker,
        maker_fee=Decimal("0.0100"),
        taker_fee=Decimal("0.00"),
        maker_fee_asset=market.quote,
        taker_fee_asset=market.quote,
        executed_at=at,
    )


@pytest.fixture
def exchange_with_history(alice, bob, btc_usdt, usdt, redis_conn, settings):
    """Orders, trades, balances and a book, each holding amounts as the columns and the engine write them."""
    persist_order(
        alice,
        btc_usdt,
        PERSISTED_ORDER,
        client_order_id="rested",
        price=Decimal("30000.50"),
        quantity=Decimal("0.01000"),
        status="PARTIALLY_FILLED",
        executed_quantity=Decimal("0.00500"),
        executed_quote=Decimal("150.0025"),
    )
    persist_order(alice, btc_usdt, SECOND_ORDER, client_order_id="second", price=Decimal("29000.00"))
    now = timezone.now()
    # The price falls over the day, so the ticker's change is negative.
    _trade(FIRST_TRADE, btc_usdt, alice, bob, "30000.50", now - timedelta(hours=2))
    _trade(FIRST_TRADE + 1, btc_usdt, alice, bob, "29000.00", now - timedelta(minutes=1))
    backfill(btc_usdt)
    Balance.objects.create(user=alice, asset=usdt, available=Decimal("1000.50"), locked=Decimal("0"))
    book = {"seq": 9, "bids": [["29999.90", "0.50000"]], "asks": [["30001.00", "1.000"]]}
    redis_conn.set(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:depth:BTC/USDT", json.dumps(book))


def walk_every_surface(trader: SignedClient, fake_engine: Any) -> list[tuple[str, Reply]]:
    """(operation, answer) for every operation of the API, some in several states."""
    order = {"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": PRICE_IN, "quantity": QUANTITY_IN}
    answers: list[tuple[str, Reply]] = []

    def call(operation: str, target: str, body: Any = None) -> Reply:
        reply = trader.request(operation.split()[0], target, body)
        answers.append((operation, reply))
        return reply

    placed = call("POST /orders", "/api/v1/orders", {**order, "client_order_id": "walk"}).json()
    call("POST /orders", "/api/v1/orders", {**order, "client_order_id": "walk"})  # a pending duplicate
    rested = {**order, "price": "30000.50", "quantity": "0.01000", "client_order_id": "rested"}
    call("POST /orders", "/api/v1/orders", rested)  # a retry of a persisted order
    fake_engine(lambda command: {"status": "NEW", "executed_quantity": "0.00000", "executed_quote": "0.0"})
    call("POST /orders", "/api/v1/orders", {**order, "client_order_id": "verdict", "response_type": "RESULT"})
    call("GET /orders/{order_id}", f"/api/v1/orders/{placed['order_id']}")
    call("GET /orders/{order_id}", f"/api/v1/orders/{PERSISTED_ORDER}")
    call("GET /orders/{order_id}", f"/api/v1/orders/%22{PERSISTED_ORDER}%22")  # the id JSON-encoded
    call("GET /orders/by-client-id/{client_order_id}", "/api/v1/orders/by-client-id/walk")
    call("GET /orders/by-client-id/{client_order_id}", "/api/v1/orders/by-client-id/rested")
    call("GET /orders", "/api/v1/orders")
    call("GET /fills", "/api/v1/fills")
    call("GET /fills", f'/api/v1/fills?order_id="{PERSISTED_ORDER}"')
    call("GET /balances", "/api/v1/balances")
    call("GET /markets", "/api/v1/markets")
    call("GET /markets/{base}/{quote}", "/api/v1/markets/BTC/USDT")
    call("GET /markets/{base}/{quote}/depth", "/api/v1/markets/BTC/USDT/depth")
    call("GET /markets/{base}/{quote}/trades", "/api/v1/markets/BTC/USDT/trades")
    call("GET /markets/{base}/{quote}/ticker", "/api/v1/markets/BTC/USDT/ticker")
    call("GET /markets/{base}/{quote}/candles", "/api/v1/markets/BTC/USDT/candles?interval=1h")
    call("PATCH /orders/{order_id}", f"/api/v1/orders/{PERSISTED_ORDER}", {"price": "30000.10"})
    call("DELETE /orders/{order_id}", f"/api/v1/orders/{PERSISTED_ORDER}")
    call("DELETE /orders/by-client-id/{client_order_id}", "/api/v1/orders/by-client-id/second")
    call("DELETE /orders", "/api/v1/orders?market=BTC/USDT")
    return answers


@pytest.fixture
def every_answer(alice_any_path, exchange_with_history, fake_engine) -> list[tuple[str, Reply]]:
    return walk_every_surface(alice_any_path, fake_engine)


def test_every_surface_answers_in_the_walk(every_answer):
    failed = [(operation, reply.status_code) for operation, reply in every_answer if reply.status_code >= 300]

    assert failed == []
    statuses = {reply.status_code for operation, reply in every_answer if operation == "POST /orders"}
    assert statuses == {200, 202}  # acknowledged, and answered with a verdict or a persisted original


def test_every_amount_on_every_surface_is_plain_text(every_answer):
    problems = [
        f"{operation}: {problem}"
        for operation, reply in every_answer
        for problem in amount_problems(reply.json())
    ]

    assert problems == []


def test_every_id_on_every_surface_is_a_string(every_answer):
    problems = [
        f"{operation}: {problem}"
        for operation, reply in every_answer
        for problem in id_problems(reply.json())
    ]

    assert problems == []


def test_ids_past_two_to_the_53_keep_every_digit(every_answer):
    by_id = [reply.json() for operation, reply in every_answer if operation == "GET /orders/{order_id}"]
    [fills, only_one_order] = [reply.json() for operation, reply in every_answer if operation == "GET /fills"]

    assert [order["order_id"] for order in by_id[1:]] == [str(PERSISTED_ORDER)] * 2
    assert {fill["trade_id"] for fill in fills["items"]} == {str(FIRST_TRADE), str(FIRST_TRADE + 1)}
    assert {fill["order_id"] for fill in only_one_order["items"]} == {str(PERSISTED_ORDER)}


def test_the_schema_declares_every_id_a_string():
    schemas = api.get_openapi_schema(path_prefix="/api/v1")["components"]["schemas"]
    declared = {
        (schema_name, name): field.get("type")
        for schema_name, schema in schemas.items()
        for name, field in schema.get("properties", {}).items()
        if name in ID_FIELDS
    }

    assert declared
    assert {kind for kind in declared.values()} == {"string"}


def test_the_ticker_change_can_be_negative(every_answer):
    [ticker] = [reply.json() for operation, reply in every_answer if operation.endswith("/ticker")]

    assert ticker["change"] == "-1000.5"


def test_the_acknowledgement_writes_the_request_amounts_by_the_rule(every_answer):
    first = every_answer[0][1].json()

    assert (first["price"], first["quantity"]) == ("12000", "0.001")


def test_the_walk_covers_every_operation(every_answer):
    documented = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, operations in api.get_openapi_schema(path_prefix="/api/v1")["paths"].items()
        for method in operations
    }

    assert documented == {operation for operation, _ in every_answer}


def test_every_answer_field_is_classified():
    schemas = api.get_openapi_schema(path_prefix="/api/v1")["components"]["schemas"]
    answer_fields = {
        name
        for schema_name, schema in schemas.items()
        if not schema_name.endswith("In")
        for name in schema.get("properties", {})
    }

    known = AMOUNT_FIELDS | SIGNED_AMOUNT_FIELDS | LEVEL_FIELDS | ID_FIELDS | OTHER_FIELDS
    assert answer_fields - known == set()
