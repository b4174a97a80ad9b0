"""GET /orders/{id}, by client id, and the list: yours only, persisted or pending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.ids import EPOCH_MS
from exchange.models import Order
from tests.api.support import limit_buy, order_row, persist_order
from tests.db_reads import rows_read, skip_unless_mariadb

pytestmark = pytest.mark.django_db

ORDER_ID = ((1_000_000 - 0) << 22) | (5 << 10)  # an id as the pipeline makes them


def test_it_shows_a_persisted_order(alice_api, alice, btc_usdt):
    persist_order(
        alice,
        btc_usdt,
        ORDER_ID,
        client_order_id="a1",
        status="PARTIALLY_FILLED",
        executed_quantity=Decimal("0.0005"),
        executed_quote=Decimal("15.000000"),
    )

    response = alice_api.get(f"/api/v1/orders/{ORDER_ID}")

    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == str(ORDER_ID)
    assert (body["status"], body["executed_quantity"], body["executed_quote"]) == (
        "PARTIALLY_FILLED",
        "0.0005",
        "15",
    )
    assert (body["price"], body["quantity"]) == ("30000", "0.001")
    assert isinstance(body["created_at"], int)


def test_a_placed_order_is_pending_new_until_persisted(alice_api, btc_usdt):
    placed = alice_api.post("/api/v1/orders", limit_buy(client_order_id="p1")).json()

    response = alice_api.get(f"/api/v1/orders/{placed['order_id']}")

    assert response.status_code == 200
    assert response.json() == {k: v for k, v in placed.items() if k != "duplicate"}
    assert response.json()["status"] == "PENDING_NEW"
    assert abs(response.json()["created_at"] - (int(placed["order_id"]) >> 22) - EPOCH_MS) == 0


def test_a_persisted_order_wins_over_its_command(alice_api, alice, btc_usdt):
    order_id = alice_api.post("/api/v1/orders", limit_buy(client_order_id="p1")).json()["order_id"]
    persist_order(alice, btc_usdt, order_id, client_order_id="p1", status="FILLED")

    assert alice_api.get(f"/api/v1/orders/{order_id}").json()["status"] == "FILLED"


def test_another_users_order_is_not_found(alice_api, bob_api, bob, btc_usdt):
    persisted = persist_order(bob, btc_usdt, ORDER_ID)
    pending = bob_api.post("/api/v1/orders", limit_buy(client_order_id="bobs")).json()["order_id"]

    for order_id in (persisted.id, pending):
        response = alice_api.get(f"/api/v1/orders/{order_id}")
        assert (response.status_code, response.json()) == (
            404,
            {"code": "ORDER_NOT_FOUND", "message": "no such order"},
        )
    assert alice_api.get("/api/v1/orders/by-client-id/bobs").status_code == 404


@pytest.mark.parametrize("order_id", ["1", "123456789", str(2**63 - 1)])
def test_an_unknown_order_is_not_found(alice_api, btc_usdt, order_id):
    assert alice_api.get(f"/api/v1/orders/{order_id}").status_code == 404


@pytest.mark.parametrize("order_id", ["0", "-5", "abc", str(2**63)])
def test_an_order_id_that_cannot_be_one_is_a_bad_request(alice_api, order_id):
    response = alice_api.get(f"/api/v1/orders/{order_id}")

    assert (response.status_code, response.json()["code"]) in {(400, "INVALID_VALUE"), (400, "INVALID_TYPE")}


def test_it_finds_an_order_by_client_order_id_pending_or_persisted(alice_api, alice, btc_usdt):
    order_id = alice_api.post("/api/v1/orders", limit_buy(client_order_id="mine-1")).json()["order_id"]
    persist_order(alice, btc_usdt, ORDER_ID, client_order_id="mine-2", status="CANCELED")

    pending = alice_api.get("/api/v1/orders/by-client-id/mine-1")
    persisted = alice_api.get("/api/v1/orders/by-client-id/mine-2")

    assert (pending.json()["order_id"], pending.json()["status"]) == (order_id, "PENDING_NEW")
    assert (persisted.json()["order_id"], persisted.json()["status"]) == (str(ORDER_ID), "CANCELED")
    assert alice_api.get("/api/v1/orders/by-client-id/nope").status_code == 404


def test_the_list_shows_only_your_orders_newest_first(alice_api, alice, bob, btc_usdt):
    for n in range(3):
        persist_order(alice, btc_usdt, ORDER_ID + n)
    persist_order(bob, btc_usdt, ORDER_ID + 10)

    response = alice_api.get("/api/v1/orders")

    assert response.status_code == 200
    assert [item["order_id"] for item in response.json()["items"]] == [
        str(ORDER_ID + 2),
        str(ORDER_ID + 1),
        str(ORDER_ID),
    ]
    assert response.json()["next_cursor"] is None


def test_the_list_filters_by_market_status_and_openness(alice_api, alice, btc_usdt, eth_usdt_halted):
    persist_order(alice, btc_usdt, ORDER_ID, status="NEW")
    persist_order(alice, btc_usdt, ORDER_ID + 1, status="FILLED")
    persist_order(alice, eth_usdt_halted, ORDER_ID + 2, status="PARTIALLY_FILLED")

    def ids(query: str) -> list[int]:
        return [int(item["order_id"]) for item in alice_api.get(f"/api/v1/orders?{query}").json()["items"]]

    assert ids("market=BTC/USDT") == [ORDER_ID + 1, ORDER_ID]
    assert ids("status=FILLED") == [ORDER_ID + 1]
    assert ids("open_only=true") == [ORDER_ID + 2, ORDER_ID]
    assert ids("market=ETH/USDT&open_only=true") == [ORDER_ID + 2]
    assert ids("market=XRP/USDT") == []


def test_the_list_pages_with_a_cursor(alice_api, alice, btc_usdt):
    for n in range(5):
        persist_order(alice, btc_usdt, ORDER_ID + n)

    first = alice_api.get("/api/v1/orders?limit=2").json()
    second = alice_api.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}").json()
    third = alice_api.get(f"/api/v1/orders?limit=2&cursor={second['next_cursor']}").json()

    pages = [[int(item["order_id"]) for item in page["items"]] for page in (first, second, third)]
    assert pages == [[ORDER_ID + 4, ORDER_ID + 3], [ORDER_ID + 2, ORDER_ID + 1], [ORDER_ID]]
    assert third["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "cursor=abc", "status=PENDING", "open_only=maybe"])
def test_the_list_refuses_bad_parameters(alice_api, query):
    response = alice_api.get(f"/api/v1/orders?{query}")

    assert response.status_code == 400
    assert response.json()["code"] in {"INVALID_VALUE", "INVALID_TYPE"}


@pytest.mark.parametrize("given", [str(ORDER_ID), f'"{ORDER_ID}"'])
def test_an_order_id_is_taken_plain_or_quoted_in_a_query(alice_api, alice, btc_usdt, given):
    persist_order(alice, btc_usdt, ORDER_ID)

    response = alice_api.get(f"/api/v1/fills?order_id={given}")

    assert (response.status_code, response.json()["items"]) == (200, [])


@pytest.mark.parametrize(
    "given", ["9223372036854775808", "99999999999999999999", "0", "12a", '"12', "-5", "1.0"]
)
def test_an_order_id_that_cannot_be_one_is_refused(alice_api, btc_usdt, given):
    response = alice_api.get(f"/api/v1/orders/{given}")

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_VALUE")


def test_an_order_the_engine_has_answered_reads_as_answered_before_it_is_persisted(
    alice_api, alice, btc_usdt, redis_conn, settings
):
    """The engine's verdict is in the trader's feed milliseconds before the order's row is in the database."""
    import json

    from exchange.api.engine_results import user_channel
    from exchange.pipeline.user_events import events_stream

    order_id = alice_api.post("/api/v1/orders", limit_buy(quantity="0.002")).json()["order_id"]
    other = {"type": "order", "order_id": "12345", "status": "CANCELED", "executed_quantity": "0"}
    update = {
        "type": "order",
        "order_id": order_id,
        "status": "PARTIALLY_FILLED",
        "price": "30000.00",
        "quantity": "0.00200",
        "executed_quantity": "0.00100",
        "executed_quote": "30.00000",
        "reject_reason": "",
        "ts": 1796000000123,
    }
    fill = {"type": "fill", "order_id": order_id, "trade_id": "7", "quantity": "0.001"}
    stream = events_stream(user_channel(alice.pk))
    redis_conn.xadd(stream, {"s": 1, "0": json.dumps(update), "1": json.dumps(fill)})
    redis_conn.xadd(stream, {"s": 3, "0": json.dumps(other)})

    body = alice_api.get(f"/api/v1/orders/{order_id}").json()

    assert (body["status"], body["executed_quantity"], body["executed_quote"]) == (
        "PARTIALLY_FILLED",
        "0.001",
        "30",
    )
    assert (body["quantity"], body["updated_at"]) == ("0.002", 1796000000123)


def test_the_order_list_reads_the_page_not_the_history(alice_api, alice, bob, btc_usdt):
    skip_unless_mariadb()
    Order.objects.bulk_create(
        order_row(
            alice if n % 2 else bob, btc_usdt, ORDER_ID + (n << 22), client_order_id=f"h{n}", status="FILLED"
        )
        for n in range(1, 2001)
    )

    before = rows_read()
    page = alice_api.get("/api/v1/orders?limit=10").json()
    read = rows_read() - before

    assert [item["order_id"] for item in page["items"]] == [
        str(ORDER_ID + (n << 22)) for n in range(1999, 1979, -2)
    ]
    assert read < 300, f"a page of 10 orders read {read} rows of 2,000 orders"
