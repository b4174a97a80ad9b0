"""The Binance-compatible /api/v3 by Binance's wire rules: signing, times, errors, parameters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from exchange.api.keys import key_cache
from exchange.api.signing import private_key_from_text, signed_headers
from exchange.models import ApiKey, Market
from exchange.services import api_secrets
from exchange.services.api_keys import IssuedKey, issue_api_key, issue_hmac_key
from tests.api.support import stream_commands


@pytest.fixture
def hmac_key(alice: User) -> IssuedKey:
    return issue_hmac_key(alice, "ccxt", can_read=True, can_trade=True)


def now_ms() -> int:
    return int(time.time() * 1000)


def hmac_signed(key: IssuedKey, params: dict[str, Any]) -> str:
    assert key.secret is not None
    query = urlencode({**params, "timestamp": params.get("timestamp", now_ms())})
    signature = hmac.new(key.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


def ed25519_signed(key: IssuedKey, params: dict[str, Any]) -> str:
    assert key.private_key is not None
    query = urlencode({**params, "timestamp": now_ms()})
    signature = base64.b64encode(private_key_from_text(key.private_key).sign(query.encode())).decode()
    return f"{query}&signature={quote(signature, safe='')}"


def call(
    client: Client, method: str, path: str, key: IssuedKey | None, query: str = "", body: str = ""
) -> Any:
    headers = {"X-MBX-APIKEY": key.api_key.key_id} if key else {}
    target = f"/api/v3/{path}" + (f"?{query}" if query else "")
    return client.generic(
        method, target, body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def limit_sell(**overrides: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": "30000",
        "newOrderRespType": "ACK",
        **overrides,
    }


def test_an_hmac_signed_request_is_answered(client: Client, hmac_key: IssuedKey, btc_usdt: Market) -> None:
    reply = call(client, "GET", "account", hmac_key, hmac_signed(hmac_key, {}))
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["accountType"] == "SPOT" and body["canTrade"] is True and body["balances"] == []
    assert body["commissionRates"] == {"maker": "0.001", "taker": "0.001", "buyer": "0", "seller": "0"}


def test_an_ed25519_key_signs_binance_requests_too(client: Client, alice: User, btc_usdt: Market) -> None:
    key = issue_api_key(alice, "python-binance", can_read=True, can_trade=True)
    reply = call(client, "GET", "openOrders", key, ed25519_signed(key, {"symbol": "BTCUSDT"}))
    assert reply.status_code == 200, reply.content
    assert reply.json() == []


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        (lambda q: q[:-1] + ("0" if q[-1] != "0" else "1"), 400, -1022),  # another signature
        (lambda q: q.replace("symbol=BTCUSDT", "symbol=ETHUSDT"), 400, -1022),  # another request
        (lambda q: q.split("&signature=")[0], 400, -1102),  # none
    ],
)
def test_a_wrong_or_missing_signature_is_refused(
    client: Client, hmac_key: IssuedKey, btc_usdt: Market, tamper: Any, status: int, code: int
) -> None:
    reply = call(client, "GET", "openOrders", hmac_key, tamper(hmac_signed(hmac_key, {"symbol": "BTCUSDT"})))
    assert (reply.status_code, reply.json()["code"]) == (status, code)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"timestamp": 1}, -1021),  # long ago
        ({"timestamp": 10**13}, -1021),  # in the future
        ({"recvWindow": 60_001}, -1130),
    ],
)
def test_times_outside_the_receive_window_are_refused(
    client: Client, hmac_key: IssuedKey, btc_usdt: Market, params: dict[str, Any], code: int
) -> None:
    reply = call(client, "GET", "account", hmac_key, hmac_signed(hmac_key, params))
    assert reply.status_code == 400 and reply.json()["code"] == code


def test_keys_are_checked_like_binance(
    client: Client, alice: User, hmac_key: IssuedKey, btc_usdt: Market
) -> None:
    assert call(client, "GET", "account", None, hmac_signed(hmac_key, {})).json()["code"] == -1002
    unknown = IssuedKey(ApiKey(key_id="sk_unknown"), None, hmac_key.secret)
    reply = call(client, "GET", "account", unknown, hmac_signed(unknown, {}))
    assert (reply.status_code, reply.json()["code"]) == (401, -2015)
    read_only = issue_hmac_key(alice, "watcher", can_read=True, can_trade=False)
    reply = call(client, "POST", "order", read_only, body=hmac_signed(read_only, limit_sell()))
    assert (reply.status_code, reply.json()["code"]) == (401, -2015)
    hmac_key.api_key.revoke()
    reply = call(client, "GET", "account", hmac_key, hmac_signed(hmac_key, {}))
    assert (reply.status_code, reply.json()["code"]) == (401, -2015)


def test_an_order_goes_into_the_one_order_flow(client: Client, hmac_key: IssuedKey, btc_usdt: Market) -> None:
    reply = call(
        client, "POST", "order", hmac_key, body=hmac_signed(hmac_key, limit_sell(newClientOrderId="c-1"))
    )
    assert reply.status_code == 200, reply.content
    ack = reply.json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    assert ack["symbol"] == "BTCUSDT" and ack["clientOrderId"] == "c-1" and isinstance(ack["orderId"], int)
    (command,) = stream_commands(hmac_key.api_key.user_id)
    assert command["m"] == "BTC/USDT" and command["side"] == "SELL" and command["px"] == "30000"
    assert command["qty"] == "0.01" and command["cid"] == "c-1" and command["tif"] == "GTC"
    # A retry of the same order answers the same order; the same id with another order is refused.
    again = call(
        client, "POST", "order", hmac_key, body=hmac_signed(hmac_key, limit_sell(newClientOrderId="c-1"))
    )
    assert again.json()["orderId"] == ack["orderId"]
    other = call(
        client,
        "POST",
        "order",
        hmac_key,
        body=hmac_signed(hmac_key, limit_sell(newClientOrderId="c-1", price="31000")),
    )
    assert other.status_code == 400 and other.json()["code"] == -2010
    # Pending in the stream, the order is already found, open.
    query = hmac_signed(hmac_key, {"symbol": "BTCUSDT", "orderId": ack["orderId"]})
    found = call(client, "GET", "order", hmac_key, query).json()
    assert found["status"] == "NEW" and found["origQty"] == "0.01" and found["type"] == "LIMIT"


def test_query_and_body_are_signed_together_as_binance_does(
    client: Client, hmac_key: IssuedKey, btc_usdt: Market
) -> None:
    """Binance's third signing example: part in the query string, part in the body, no separator."""
    assert hmac_key.secret is not None
    query = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.01&price=30000&newOrderRespType=ACK&timestamp={now_ms()}"
    signature = hmac.new(hmac_key.secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    reply = call(client, "POST", "order", hmac_key, query, f"{body}&signature={signature}")
    assert reply.status_code == 200, reply.content


def test_a_signed_order_is_accepted_once(client: Client, hmac_key: IssuedKey, btc_usdt: Market) -> None:
    body = hmac_signed(hmac_key, limit_sell())
    assert call(client, "POST", "order", hmac_key, body=body).status_code == 200
    replayed = call(client, "POST", "order", hmac_key, body=body)
    assert replayed.status_code == 400 and replayed.json()["code"] == -1022


def test_a_stop_loss_limit_with_an_iceberg_quantity_maps_to_a_stop_limit(
    client: Client, hmac_key: IssuedKey, btc_usdt: Market
) -> None:
    body = hmac_signed(
        hmac_key, limit_sell(type="STOP_LOSS_LIMIT", stopPrice="29500", newClientOrderId="s-1")
    )
    reply = call(client, "POST", "order", hmac_key, body=body)
    assert reply.status_code == 200, reply.content
    (command,) = stream_commands(hmac_key.api_key.user_id)
    assert (command["type"], command["sp"], command["tif"]) == ("STOP_LIMIT", "29500", "GTC")
    query = hmac_signed(hmac_key, {"symbol": "BTCUSDT", "orderId": reply.json()["orderId"]})
    found = call(client, "GET", "order", hmac_key, query).json()
    assert (found["type"], found["stopPrice"], found["isWorking"]) == ("STOP_LOSS_LIMIT", "29500", False)
    iceberg = hmac_signed(hmac_key, limit_sell(icebergQty="0.002", newClientOrderId="i-1"))
    assert call(client, "POST", "order", hmac_key, body=iceberg).status_code == 200
    assert stream_commands(hmac_key.api_key.user_id)[-1]["dq"] == "0.002"


@pytest.mark.parametrize(
    ("overrides", "code", "mentions"),
    [
        ({"quantity": "0.000001"}, -1013, "LOT_SIZE"),
        ({"price": "30000.001"}, -1013, "PRICE_FILTER"),
        ({"symbol": "NOPEUSDT"}, -1121, "Invalid symbol"),
        ({"type": "TAKE_PROFIT"}, -1116, "orderType"),
        ({"side": "HOLD"}, -1117, "side"),
        ({"timeInForce": "GTX"}, -1115, "timeInForce"),
        ({"trailingDelta": "10"}, -1104, "trailingDelta"),
        ({"newClientOrderId": "has space"}, -1100, "newClientOrderId"),
        ({"type": "MARKET", "price": None, "timeInForce": "GTC"}, -1106, "timeInForce"),
    ],
)
def test_refusals_carry_binance_codes(
    client: Client, hmac_key: IssuedKey, btc_usdt: Market, overrides: dict[str, Any], code: int, mentions: str
) -> None:
    params = {name: value for name, value in limit_sell(**overrides).items() if value is not None}
    reply = call(client, "POST", "order", hmac_key, body=hmac_signed(hmac_key, params))
    assert reply.status_code == 400
    assert reply.json()["code"] == code and mentions in reply.json()["msg"]
    assert stream_commands(hmac_key.api_key.user_id) == []


def test_order_test_checks_without_placing(client: Client, hmac_key: IssuedKey, btc_usdt: Market) -> None:
    reply = call(client, "POST", "order/test", hmac_key, body=hmac_signed(hmac_key, limit_sell()))
    assert reply.status_code == 200 and reply.json() == {}
    refused = call(
        client, "POST", "order/test", hmac_key, body=hmac_signed(hmac_key, limit_sell(quantity="0.000001"))
    )
    assert refused.json()["code"] == -1013
    assert stream_commands(hmac_key.api_key.user_id) == []


def test_an_hmac_secret_is_kept_encrypted_and_only_for_v3(
    client: Client, hmac_key: IssuedKey, settings: Any, btc_usdt: Market
) -> None:
    stored = ApiKey.objects.get(pk=hmac_key.api_key.pk)
    assert hmac_key.secret and hmac_key.secret not in stored.encrypted_secret
    assert api_secrets.decrypt(stored.encrypted_secret) == hmac_key.secret
    assert stored.public_key == ""
    # On /api/v1 it cannot sign: that API verifies Ed25519 signatures only.
    headers = signed_headers(
        hmac_key.api_key.key_id,
        private_key_from_text(base64.b64encode(b"x" * 32).decode()),
        "GET",
        "/api/v1/balances",
    )
    reply = client.get("/api/v1/balances", headers=headers)
    assert reply.status_code == 401 and reply.json()["code"] == "WRONG_KEY_KIND"
    # Another encryption key cannot read it: the key stops working, nothing else breaks.
    settings.API_SECRETS_KEY = "A" * 43 + "="
    key_cache.clear()
    reply = call(client, "GET", "account", hmac_key, hmac_signed(hmac_key, {}))
    assert (reply.status_code, reply.json()["code"]) == (401, -2015)


def test_exchange_info_describes_the_market_rules(client: Client, btc_usdt: Market) -> None:
    info = call(client, "GET", "exchangeInfo", None, "symbol=BTCUSDT").json()
    (symbol,) = info["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert symbol["status"] == "TRADING" and (symbol["baseAsset"], symbol["quoteAsset"]) == ("BTC", "USDT")
    assert filters["PRICE_FILTER"]["tickSize"] == str(Decimal(btc_usdt.tick_size).normalize())
    assert filters["LOT_SIZE"]["stepSize"] == str(Decimal(btc_usdt.lot_size).normalize())
    assert filters["NOTIONAL"]["minNotional"] == str(Decimal(btc_usdt.min_notional).normalize())
    assert call(client, "GET", "exchangeInfo", None, "symbol=NOPE").json()["code"] == -1121


def test_unknown_endpoints_and_methods_answer_json(client: Client) -> None:
    reply = call(client, "GET", "margin/allPairs", None)
    assert reply.status_code == 404 and reply.json()["code"] == -1000
    reply = call(client, "PUT", "ping", None)
    assert reply.status_code == 405 and reply.json()["code"] == -1000
    assert call(client, "GET", "ping", None).json() == {}
