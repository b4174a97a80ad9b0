"""POST /orders on both serving paths: what is accepted, what goes into the stream, what is refused."""

from __future__ import annotations

import json
import re

import pytest

from exchange.pipeline.ids import order_id_for
from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db


def test_it_accepts_a_limit_order_and_answers_with_its_id(alice_any_path, alice, btc_usdt):
    response = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="alice-1"))

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "PENDING_NEW"
    assert body["duplicate"] is False
    assert body["client_order_id"] == "alice-1"
    assert (body["market"], body["side"], body["type"]) == ("BTC/USDT", "BUY", "LIMIT")
    assert (body["price"], body["quantity"], body["quote_quantity"]) == ("30000", "0.001", None)
    [command] = stream_commands(alice.pk)
    assert command == {
        "t": "place",
        "uid": alice.pk,
        "cid": "alice-1",
        "m": "BTC/USDT",
        "side": "BUY",
        "type": "LIMIT",
        "tif": "GTC",
        "px": "30000.00",
        "qty": "0.001",
        "qq": None,
        "po": False,
        "stp": "CANCEL_NEWEST",
    }


def test_the_order_id_is_the_one_the_workers_derive_from_the_entry(
    alice_any_path, alice, btc_usdt, redis_conn
):
    from exchange.pipeline.keys import accounts_keys

    order_id = alice_any_path.post("/api/v1/orders", limit_buy()).json()["order_id"]

    [(entry_id, _)] = redis_conn.xrange(accounts_keys(0).stream)
    assert order_id == str(order_id_for(entry_id, 0))


def test_it_generates_a_client_order_id_when_none_is_given(alice_any_path, alice, btc_usdt):
    body = alice_any_path.post("/api/v1/orders", limit_buy()).json()

    assert re.fullmatch(r"[A-Za-z0-9_-]{1,36}", body["client_order_id"])
    assert stream_commands(alice.pk)[0]["cid"] == body["client_order_id"]


@pytest.mark.parametrize(
    "order",
    [
        {"side": "BUY", "type": "MARKET", "quote_quantity": "100"},
        {"side": "BUY", "type": "MARKET", "quantity": "0.01"},
        {"side": "SELL", "type": "MARKET", "quantity": "0.01"},
        {"side": "SELL", "type": "LIMIT", "price": "31000", "quantity": "0.01", "time_in_force": "IOC"},
        {"side": "SELL", "type": "LIMIT", "price": "31000", "quantity": "0.01", "time_in_force": "FOK"},
        {"side": "BUY", "type": "LIMIT", "price": "29000", "quantity": "0.01", "post_only": True},
        {
            "side": "BUY",
            "type": "LIMIT",
            "price": "29000",
            "quantity": "0.01",
            "self_trade_prevention": "ALLOW",
        },
    ],
)
def test_it_accepts_every_kind_of_order(alice_any_path, alice, btc_usdt, order):
    response = alice_any_path.post("/api/v1/orders", {"market": "BTC/USDT", **order})

    assert response.status_code == 202, response.json()
    [command] = stream_commands(alice.pk)
    assert command["type"] == order["type"]
    assert command["qq"] == order.get("quote_quantity")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"price": "30000.005"}, "PRICE_NOT_ON_TICK"),
        ({"quantity": "0.000015"}, "QUANTITY_NOT_ON_LOT"),
        ({"quantity": "0.00001", "price": "30000"}, "BELOW_MIN_NOTIONAL"),
        ({"market": "XRP/USDT"}, "UNKNOWN_MARKET"),
        ({"market": "ETH/USDT", "quantity": "0.01"}, "MARKET_NOT_TRADING"),
        ({"price": None}, "INVALID_PRICE"),
        ({"type": "MARKET"}, "INVALID_PRICE"),
        ({"quantity": None}, "INVALID_QUANTITY"),
        ({"quote_quantity": "100"}, "INVALID_QUANTITY"),
        ({"post_only": True, "time_in_force": "IOC"}, "INVALID_POST_ONLY"),
        ({"price": "900000000000000000", "quantity": "2"}, "NOTIONAL_TOO_LARGE"),
        # Beyond the engine's 64-bit integers in this market's units (lot 0.00001, tick x lot 1e-7 USDT).
        ({"quantity": "100000000000000"}, "QUANTITY_TOO_LARGE"),
        ({"price": "1000000.00", "quantity": "1000000"}, "NOTIONAL_TOO_LARGE"),
    ],
)
def test_it_refuses_orders_that_break_a_market_rule(
    alice_any_path, alice, btc_usdt, eth_usdt_halted, overrides, code
):
    response = alice_any_path.post("/api/v1/orders", limit_buy(**overrides))

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert stream_commands(alice.pk) == []


def test_it_refuses_a_market_buy_whose_quote_amount_the_engine_cannot_count(alice_any_path, alice, btc_usdt):
    order = {"market": "BTC/USDT", "side": "BUY", "type": "MARKET", "quote_quantity": "1000000000000"}

    response = alice_any_path.post("/api/v1/orders", order)

    assert (response.status_code, response.json()["code"]) == (400, "NOTIONAL_TOO_LARGE")
    assert stream_commands(alice.pk) == []


def test_it_refuses_a_market_buy_below_the_min_notional(alice_any_path, alice, btc_usdt):
    order = {"market": "BTC/USDT", "side": "BUY", "type": "MARKET", "quote_quantity": "4.99"}

    response = alice_any_path.post("/api/v1/orders", order)

    assert (response.status_code, response.json()["code"]) == (400, "BELOW_MIN_NOTIONAL")


@pytest.mark.parametrize(
    ("price", "code"),
    [
        ("NaN", "MALFORMED_DECIMAL"),
        ("Infinity", "MALFORMED_DECIMAL"),
        ("-Infinity", "MALFORMED_DECIMAL"),
        ("3e4", "MALFORMED_DECIMAL"),
        ("3E+4", "MALFORMED_DECIMAL"),
        ("30000.0000000000000000001", "TOO_MANY_DECIMALS"),
        ("1234567890123456789", "TOO_MANY_DECIMALS"),
        ("-30000", "NOT_POSITIVE"),
        ("0", "NOT_POSITIVE"),
        ("0.000", "NOT_POSITIVE"),
        (" 30000", "MALFORMED_DECIMAL"),
        ("30000.", "MALFORMED_DECIMAL"),
        (".5", "MALFORMED_DECIMAL"),
        ("030000", "MALFORMED_DECIMAL"),
        ("30,000", "MALFORMED_DECIMAL"),
        ("", "MALFORMED_DECIMAL"),
        ("٣٠٠٠٠", "MALFORMED_DECIMAL"),
        (30000, "INVALID_TYPE"),
        (30000.5, "INVALID_TYPE"),
        (True, "INVALID_TYPE"),
    ],
)
def test_it_refuses_malformed_amounts(alice_any_path, alice, btc_usdt, price, code):
    response = alice_any_path.post("/api/v1/orders", limit_buy(price=price))

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"].startswith("price: ")
    assert stream_commands(alice.pk) == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"market": "BTC/USDT", "side": "BUY"', "MALFORMED_JSON"),
        (b"[1, 2]", "MALFORMED_JSON"),
        (b"", "MALFORMED_JSON"),
        (b"\xff\xfe", "MALFORMED_JSON"),
        (
            b'{"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": NaN, "quantity": "1"}',
            "INVALID_TYPE",
        ),
    ],
)
def test_it_refuses_bodies_that_are_not_a_json_object(alice_any_path, alice, btc_usdt, raw, code):
    response = alice_any_path.post("/api/v1/orders", raw=raw)

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert stream_commands(alice.pk) == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"side": "buy"}, "INVALID_VALUE"),
        ({"side": 1}, "INVALID_VALUE"),
        ({"type": "STOP"}, "INVALID_VALUE"),
        ({"time_in_force": "GTX"}, "INVALID_VALUE"),
        ({"self_trade_prevention": "NONE"}, "INVALID_VALUE"),
        ({"post_only": "yes"}, "INVALID_TYPE"),
        ({"post_only": 1}, "INVALID_TYPE"),
        ({"market": ["BTC/USDT"]}, "INVALID_TYPE"),
        ({"client_order_id": "has space"}, "INVALID_VALUE"),
        ({"client_order_id": "x" * 37}, "INVALID_VALUE"),
        ({"response_type": "FULL"}, "INVALID_VALUE"),
        ({"leverage": "10"}, "UNKNOWN_FIELD"),
    ],
)
def test_it_refuses_wrong_types_values_and_unknown_fields(alice_any_path, alice, btc_usdt, overrides, code):
    response = alice_any_path.post("/api/v1/orders", limit_buy(**overrides))

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert stream_commands(alice.pk) == []


def test_it_names_a_missing_field(alice_any_path, alice, btc_usdt):
    order = limit_buy()
    del order["side"]

    response = alice_any_path.post("/api/v1/orders", order)

    assert response.status_code == 400
    assert response.json() == {"code": "MISSING_FIELD", "message": "side: Field required"}


def test_it_refuses_an_oversized_body_before_reading_it(alice_any_path, alice, btc_usdt, settings):
    order = limit_buy(client_order_id="x")
    raw = json.dumps(order).encode() + b" " * settings.API_MAX_BODY_BYTES

    response = alice_any_path.post("/api/v1/orders", raw=raw)

    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")
    assert stream_commands(alice.pk) == []


def test_it_answers_503_and_retryable_when_redis_is_down(
    alice_any_path, alice, btc_usdt, settings, monkeypatch
):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from exchange.api import placing

    def unreachable():
        return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))

    alice_any_path.get("/api/v1/orders")  # warm the key cache and gate with the real Redis
    monkeypatch.setattr(placing, "api_redis", unreachable)

    response = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="retry-me"))

    assert (response.status_code, response.json()["code"]) == (503, "UNAVAILABLE")
    assert response.headers["Retry-After"] == "1"


def test_it_answers_503_when_the_stream_is_busy(alice_any_path, alice, btc_usdt, monkeypatch):
    from exchange.pipeline.order_entry import OrderEntry, StreamBusy

    def busy(self, shard, keys, reply):
        raise StreamBusy("1-4096")

    # What the place script answered, on both paths (alone, or with the gate: exchange.api.gated_place).
    monkeypatch.setattr(OrderEntry, "settle_place", busy)

    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (503, "STREAM_BUSY")
    assert response.headers["Retry-After"] == "1"
