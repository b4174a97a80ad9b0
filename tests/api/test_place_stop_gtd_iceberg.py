"""POST /orders with stop, good-till-date and iceberg orders: what goes into the stream, what is refused."""

from __future__ import annotations

import time

import pytest

from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db

IN_AN_HOUR = time.time_ns() // 1_000_000 + 3_600_000


@pytest.mark.parametrize(
    ("order", "extras"),
    [
        (
            {"type": "STOP_LIMIT", "price": "31000", "quantity": "0.01", "stop_price": "30500"},
            {"sp": "30500"},
        ),
        ({"type": "STOP_MARKET", "quote_quantity": "100", "stop_price": "30500"}, {"sp": "30500"}),
        ({"time_in_force": "GTD", "expire_at": IN_AN_HOUR}, {"exp": IN_AN_HOUR}),
        ({"quantity": "0.01", "display_quantity": "0.002"}, {"dq": "0.002"}),
    ],
)
def test_it_accepts_stop_gtd_and_iceberg_orders(alice_any_path, alice, btc_usdt, order, extras):
    body = limit_buy(**order)
    if body["type"] == "STOP_MARKET":
        del body["price"], body["quantity"]
    response = alice_any_path.post("/api/v1/orders", body)

    assert response.status_code == 202, response.json()
    [command] = stream_commands(alice.pk)
    assert {key: command[key] for key in extras} == extras
    answer = response.json()
    assert (answer["type"], answer["time_in_force"]) == (body["type"], body.get("time_in_force", "GTC"))


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"type": "STOP_LIMIT"}, "INVALID_STOP_PRICE"),
        ({"stop_price": "30500"}, "INVALID_STOP_PRICE"),
        ({"type": "STOP_LIMIT", "stop_price": "30500.005"}, "STOP_PRICE_NOT_ON_TICK"),
        ({"type": "STOP_MARKET", "price": None, "stop_price": "30500"}, "INVALID_QUANTITY"),
        ({"time_in_force": "GTD"}, "INVALID_EXPIRE_TIME"),
        ({"time_in_force": "GTD", "expire_at": 1_000}, "EXPIRE_TIME_PASSED"),
        ({"expire_at": IN_AN_HOUR}, "INVALID_EXPIRE_TIME"),
        ({"display_quantity": "0.002"}, "INVALID_DISPLAY_QUANTITY"),
        ({"quantity": "0.01", "display_quantity": "0.0000015"}, "DISPLAY_QUANTITY_NOT_ON_LOT"),
        ({"type": "STOP_LIMIT", "stop_price": "30500", "post_only": True}, "INVALID_POST_ONLY"),
    ],
)
def test_it_refuses_what_a_stop_gtd_or_iceberg_order_must_not_be(
    alice_any_path, alice, btc_usdt, overrides, code
):
    response = alice_any_path.post("/api/v1/orders", limit_buy(**overrides))

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert stream_commands(alice.pk) == []
