"""Cancel, cancel by client id, cancel-all and amend: checked, enqueued, and never on others' orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.support import limit_buy, persist_order, stream_commands

pytestmark = pytest.mark.django_db

ORDER_ID = (1_000_000 << 22) | (5 << 10)


def test_it_cancels_a_persisted_open_order(alice_api, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID, client_order_id="c1")

    response = alice_api.delete(f"/api/v1/orders/{ORDER_ID}")

    assert response.status_code == 202
    assert response.json() == {
        "order_id": str(ORDER_ID),
        "client_order_id": "c1",
        "market": "BTC/USDT",
        "status": "PENDING_CANCEL",
    }
    assert stream_commands(alice.pk) == [{"t": "cancel", "uid": alice.pk, "oid": ORDER_ID}]


def test_it_cancels_an_order_still_in_the_stream_behind_its_place(alice_api, alice, btc_usdt):
    order_id = alice_api.post("/api/v1/orders", limit_buy(client_order_id="c1")).json()["order_id"]

    response = alice_api.delete(f"/api/v1/orders/{order_id}")

    assert response.status_code == 202
    assert [command["t"] for command in stream_commands(alice.pk)] == ["place", "cancel"]


def test_it_cancels_by_client_order_id(alice_api, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID, client_order_id="by-cid")

    response = alice_api.delete("/api/v1/orders/by-client-id/by-cid")

    assert (response.status_code, response.json()["order_id"]) == (202, str(ORDER_ID))
    assert stream_commands(alice.pk)[-1] == {"t": "cancel", "uid": alice.pk, "oid": ORDER_ID}


def test_it_does_not_cancel_another_users_order(alice_api, alice, bob, btc_usdt):
    persist_order(bob, btc_usdt, ORDER_ID, client_order_id="bobs")

    by_id = alice_api.delete(f"/api/v1/orders/{ORDER_ID}")
    by_cid = alice_api.delete("/api/v1/orders/by-client-id/bobs")

    assert (by_id.status_code, by_id.json()["code"]) == (404, "ORDER_NOT_FOUND")
    assert by_cid.status_code == 404
    assert stream_commands(alice.pk) == stream_commands(bob.pk) == []


@pytest.mark.parametrize("status", ["FILLED", "CANCELED", "REJECTED", "EXPIRED"])
def test_it_refuses_to_cancel_a_closed_order(alice_api, alice, btc_usdt, status):
    persist_order(alice, btc_usdt, ORDER_ID, status=status)

    response = alice_api.delete(f"/api/v1/orders/{ORDER_ID}")

    assert (response.status_code, response.json()["code"]) == (409, "ORDER_NOT_OPEN")
    assert stream_commands(alice.pk) == []


def test_it_cancels_all_orders_of_a_market(alice_api, alice, btc_usdt):
    response = alice_api.delete("/api/v1/orders?market=BTC/USDT")

    assert (response.status_code, response.json()) == (
        202,
        {"market": "BTC/USDT", "status": "PENDING_CANCEL"},
    )
    assert stream_commands(alice.pk) == [{"t": "cancel_all", "uid": alice.pk, "m": "BTC/USDT"}]


def test_cancel_all_needs_a_known_market(alice_api, alice, btc_usdt):
    unknown = alice_api.delete("/api/v1/orders?market=XRP/USDT")
    missing = alice_api.delete("/api/v1/orders")

    assert (unknown.status_code, unknown.json()["code"]) == (400, "UNKNOWN_MARKET")
    assert (missing.status_code, missing.json()["code"]) == (400, "MISSING_FIELD")
    assert stream_commands(alice.pk) == []


def test_cancelling_needs_the_trade_scope(transport, alice_read_only_key, alice, btc_usdt):
    from tests.api.support import SignedClient

    persist_order(alice, btc_usdt, ORDER_ID)

    response = SignedClient(transport, alice_read_only_key).delete(f"/api/v1/orders/{ORDER_ID}")

    assert response.status_code == 403


def test_it_amends_price_and_quantity(alice_api, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID, client_order_id="am")

    response = alice_api.patch(f"/api/v1/orders/{ORDER_ID}", {"price": "29999.99", "quantity": "0.002"})

    assert (response.status_code, response.json()["status"]) == (202, "PENDING_AMEND")
    assert stream_commands(alice.pk) == [
        {"t": "amend", "uid": alice.pk, "oid": ORDER_ID, "qty": "0.002", "px": "29999.99"}
    ]


def test_it_amends_a_pending_order(alice_api, alice, btc_usdt):
    order_id = alice_api.post("/api/v1/orders", limit_buy()).json()["order_id"]

    response = alice_api.patch(f"/api/v1/orders/{order_id}", {"quantity": "0.003"})

    assert response.status_code == 202
    assert stream_commands(alice.pk)[-1] == {
        "t": "amend",
        "uid": alice.pk,
        "oid": int(order_id),
        "qty": "0.003",
        "px": None,
    }


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"price": "30000.001"}, "PRICE_NOT_ON_TICK", 400),
        ({"quantity": "0.0000011"}, "QUANTITY_NOT_ON_LOT", 400),
        ({"quantity": "0.0001"}, "BELOW_MIN_NOTIONAL", 400),
        ({"price": "1000000.00", "quantity": "1000000"}, "NOTIONAL_TOO_LARGE", 400),
        ({"quantity": "0.0002"}, "QUANTITY_BELOW_EXECUTED", 400),
        ({}, "NOTHING_TO_AMEND", 400),
        ({"price": "0"}, "NOT_POSITIVE", 400),
        ({"side": "SELL"}, "UNKNOWN_FIELD", 400),
    ],
)
def test_it_refuses_amendments_that_break_a_rule(alice_api, alice, btc_usdt, change, code, status):
    persist_order(alice, btc_usdt, ORDER_ID, status="PARTIALLY_FILLED", executed_quantity=Decimal("0.0005"))

    response = alice_api.patch(f"/api/v1/orders/{ORDER_ID}", change)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert stream_commands(alice.pk) == []


def test_it_refuses_to_amend_a_market_order_or_a_closed_one(alice_api, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID, type="MARKET", price=None, status="NEW")
    persist_order(alice, btc_usdt, ORDER_ID + 1, status="FILLED")

    market = alice_api.patch(f"/api/v1/orders/{ORDER_ID}", {"quantity": "0.002"})
    closed = alice_api.patch(f"/api/v1/orders/{ORDER_ID + 1}", {"quantity": "0.002"})

    assert (market.status_code, market.json()["code"]) == (409, "NOT_AMENDABLE")
    assert (closed.status_code, closed.json()["code"]) == (409, "ORDER_NOT_OPEN")


def test_it_does_not_amend_another_users_order(alice_api, bob, btc_usdt):
    persist_order(bob, btc_usdt, ORDER_ID)

    assert alice_api.patch(f"/api/v1/orders/{ORDER_ID}", {"quantity": "0.002"}).status_code == 404
