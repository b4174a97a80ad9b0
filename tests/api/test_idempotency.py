"""A retry with the same client order id returns the original order and never makes a second."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from exchange.api.keys import key_cache
from exchange.api.market_rules import market_rules
from exchange.pipeline.keys import accounts_keys
from tests.api.support import (
    SignedClient,
    django_transport,
    fast_path_app,
    limit_buy,
    persist_order,
    stream_commands,
    wsgi_transport,
)
from tests.conftest import make_market

pytestmark = pytest.mark.django_db


@pytest.fixture
def eth_usdt(usdt):
    return make_market("ETH", "USDT", min_notional=Decimal("5"))


def test_a_retry_before_the_order_is_persisted_returns_the_pending_original(alice_any_path, alice, btc_usdt):
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))
    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert first.status_code == retry.status_code == 202
    assert retry.json()["order_id"] == first.json()["order_id"]
    assert retry.json()["status"] == "PENDING_NEW"
    assert (first.json()["duplicate"], retry.json()["duplicate"]) == (False, True)
    assert len(stream_commands(alice.pk)) == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"price": "31000"},
        {"quantity": "0.002"},
        {"side": "SELL"},
        {"time_in_force": "IOC"},
        {"post_only": True},
        {"self_trade_prevention": "CANCEL_BOTH"},
        {"type": "MARKET", "price": None},
        {"market": "ETH/USDT"},
    ],
)
def test_a_client_order_id_reused_with_other_parameters_is_refused(
    alice_any_path, alice, btc_usdt, eth_usdt, changed
):
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))
    body = limit_buy(client_order_id="once", **changed)
    body = {key: value for key, value in body.items() if value is not None}

    reused = alice_any_path.post("/api/v1/orders", body)

    assert (reused.status_code, reused.json()["code"]) == (409, "DUPLICATE_CLIENT_ORDER_ID")
    assert first.json()["order_id"] in reused.json()["message"]
    assert len(stream_commands(alice.pk)) == 1


def test_a_retry_of_the_same_order_written_otherwise_returns_the_original(alice_any_path, alice, btc_usdt):
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once", price="30000.00"))
    # Same order: the price by value, the default time in force spelt out, keys in another order,
    # and the answer wanted otherwise (response_type is not part of the order).
    retry_body = {
        "time_in_force": "GTC",
        "quantity": "0.0010",
        "price": "30000",
        "client_order_id": "once",
        "response_type": "RESULT",
        **{key: limit_buy()[key] for key in ("market", "side", "type")},
    }

    retry = alice_any_path.post("/api/v1/orders", retry_body)

    assert (retry.status_code, retry.json()["order_id"], retry.json()["duplicate"]) == (
        202,
        first.json()["order_id"],
        True,
    )
    assert len(stream_commands(alice.pk)) == 1


def test_a_retry_after_the_order_is_persisted_returns_its_current_state(alice_any_path, alice, btc_usdt):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(
        alice,
        btc_usdt,
        int(order_id),
        client_order_id="once",
        status="PARTIALLY_FILLED",
        executed_quantity=Decimal("0.0004"),
        executed_quote=Decimal("12"),
    )

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert retry.status_code == 200
    assert retry.json()["order_id"] == order_id
    assert (retry.json()["status"], retry.json()["executed_quantity"]) == ("PARTIALLY_FILLED", "0.0004")
    assert retry.json()["duplicate"] is True
    assert len(stream_commands(alice.pk)) == 1


def test_a_retry_after_an_api_restart_returns_the_original(alice_any_path, alice, btc_usdt):
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))
    # A new process: nothing in memory survives, only Redis and the database.
    key_cache.clear()
    market_rules.clear()
    retry = SignedClient(wsgi_transport(fast_path_app()), alice_any_path.key).post(
        "/api/v1/orders", limit_buy(client_order_id="once")
    )

    assert retry.json()["order_id"] == first.json()["order_id"]
    assert len(stream_commands(alice.pk)) == 1


def test_a_reuse_with_other_parameters_is_refused_by_the_database_check_too(
    alice_any_path, alice, btc_usdt, redis_conn, redis_took_over
):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once")
    redis_conn.delete(accounts_keys(0).client_order_id(alice.pk, "once"))

    reused = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once", quantity="0.5"))

    assert (reused.status_code, reused.json()["code"]) == (409, "DUPLICATE_CLIENT_ORDER_ID")
    assert len(stream_commands(alice.pk)) == 1


def test_a_retry_of_an_amended_order_returns_it_by_its_claim(
    alice_any_path, alice, btc_usdt, redis_took_over
):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    # Persisted, then amended: the row's price is no longer the one placed.
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once", price=Decimal("29000"))

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))
    reused = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once", price="29000"))

    assert (retry.status_code, retry.json()["order_id"], retry.json()["price"]) == (200, order_id, "29000")
    assert (reused.status_code, reused.json()["code"]) == (409, "DUPLICATE_CLIENT_ORDER_ID")
    assert len(stream_commands(alice.pk)) == 1


def test_a_retry_after_redis_lost_its_record_finds_the_persisted_order(
    alice_any_path, alice, btc_usdt, redis_conn, redis_took_over
):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once")
    redis_conn.delete(accounts_keys(0).client_order_id(alice.pk, "once"))

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert (retry.status_code, retry.json()["order_id"], retry.json()["duplicate"]) == (200, order_id, True)
    assert len(stream_commands(alice.pk)) == 1


# Committed data: the threads' own database connections must see the key and the market.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["django", "fast-path"])
def test_concurrent_retries_create_one_order(alice_key, alice, btc_usdt, path):
    attempts = 8
    transport_for = {
        "django": lambda: django_transport(Client()),
        "fast-path": lambda: wsgi_transport(fast_path_app()),
    }[path]
    clients = [SignedClient(transport_for(), alice_key) for _ in range(attempts)]
    clients[0].get("/api/v1/orders")  # the key and market caches are warm; threads only touch Redis
    market_rules.get("BTC/USDT")
    start = threading.Barrier(attempts)
    answers: list[dict[str, Any]] = []

    now_ms = int(time.time() * 1000)

    def attempt(client: SignedClient, n: int) -> None:
        start.wait()
        # Each retry is signed anew (its own timestamp), as a client retrying after a timeout does.
        answers.append(
            client.post("/api/v1/orders", limit_buy(client_order_id="race"), timestamp_ms=now_ms - n).json()
        )

    threads = [threading.Thread(target=attempt, args=(client, n)) for n, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({answer["order_id"] for answer in answers}) == 1
    assert sorted(answer["duplicate"] for answer in answers) == [False] + [True] * (attempts - 1)
    assert len(stream_commands(alice.pk)) == 1


def test_the_same_client_order_id_of_two_users_makes_two_orders(alice_api, bob_api, alice, bob, btc_usdt):
    a = alice_api.post("/api/v1/orders", limit_buy(client_order_id="shared")).json()
    b = bob_api.post("/api/v1/orders", limit_buy(client_order_id="shared")).json()

    assert a["order_id"] != b["order_id"]
    assert (a["duplicate"], b["duplicate"]) == (False, False)


def test_without_the_database_check_placing_reads_no_row(
    alice_key, alice, btc_usdt, settings, django_assert_num_queries
):
    settings.API_CLIENT_ID_DB_CHECK = False
    lean = SignedClient(wsgi_transport(fast_path_app()), alice_key)
    lean.post("/api/v1/orders", limit_buy(client_order_id="warm"))  # loads the key and the markets

    with django_assert_num_queries(0):
        response = lean.post("/api/v1/orders", limit_buy(client_order_id="cold"))

    assert response.status_code == 202


def test_the_database_check_is_on_while_the_claim_is_not_durable():
    from django.conf import settings

    assert settings.STREAM_DURABILITY == "NONE"
    assert settings.API_CLIENT_ID_DB_CHECK is True


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_reopened_once(alice, btc_usdt, monkeypatch):
    from django.db import OperationalError, connection

    from exchange.api import order_lookup

    real_cursor = connection.cursor
    failures = [OperationalError("server has gone away")]

    def cursor():
        if failures:
            raise failures.pop()
        return real_cursor()

    monkeypatch.setattr(connection, "cursor", cursor)

    assert order_lookup.persisted_order_id(alice.pk, "nothing") is None
    assert failures == []


def test_a_database_that_stays_down_answers_503(
    alice_any_path, alice, btc_usdt, monkeypatch, redis_took_over
):
    from django.db import OperationalError, connection

    alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="warm"))  # the key and markets are cached

    def down():
        raise OperationalError("server has gone away")

    monkeypatch.setattr(connection, "cursor", down)
    response = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="db-down"))

    assert (response.status_code, response.json()["code"]) == (503, "UNAVAILABLE")
    assert [command["cid"] for command in stream_commands(alice.pk)] == ["warm"]


def test_the_order_digest_reads_amounts_by_value_and_every_parameter():
    from exchange.pipeline.order_entry import PlaceRequest

    base = PlaceRequest(1, "x", "BTC/USDT", "BUY", "LIMIT", "GTC", Decimal("30000.00"), Decimal("0.0010"))
    same = PlaceRequest(1, "other-id", "BTC/USDT", "BUY", "LIMIT", "GTC", Decimal("3E+4"), Decimal("0.001"))
    changes: list[dict[str, Any]] = [
        {"symbol": "ETH/USDT"},
        {"side": "SELL"},
        {"type": "MARKET"},
        {"time_in_force": "IOC"},
        {"price": Decimal("30000.01")},
        {"quantity": Decimal("0.002")},
        {"quote_quantity": Decimal("30")},
        {"post_only": True},
        {"self_trade_prevention": "ALLOW"},
    ]

    assert base.digest() == same.digest()
    digests = {replace(base, **change).digest() for change in changes}
    assert len(digests) == len(changes) and base.digest() not in digests


def past_window(user_id: int, order_id: str, redis_conn: Any) -> None:
    """Until the claim has expired and the clock is a window past the order's place (ADR 0015)."""
    from exchange.pipeline.ids import accepted_ms_of

    key = accounts_keys(0).client_order_id(user_id, "once")
    while redis_conn.exists(key) or time.time() * 1000 <= accepted_ms_of(int(order_id)) + 1000:
        time.sleep(0.05)


@pytest.mark.parametrize("status", ["NEW", "PARTIALLY_FILLED"])
def test_a_retry_of_an_open_order_after_the_window_is_placed_for_the_stage_to_refuse(
    alice_any_path, alice, btc_usdt, redis_conn, redis_serving_long, settings, status
):
    # Its claim expired and Redis lost nothing: the API places it, and the
    # accounts stage refuses it while the first is open (DUPLICATE_CLIENT_ORDER_ID,
    # tests/pipeline/test_client_order_id_window.py), as with a durable claim.
    settings.CLIENT_ORDER_ID_WINDOW_S = 1
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once", status=status)
    past_window(alice.pk, order_id, redis_conn)

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert (retry.status_code, retry.json()["duplicate"]) == (202, False)
    assert [command["cid"] for command in stream_commands(alice.pk)] == ["once", "once"]


@pytest.mark.parametrize("db_check", [True, False])
def test_a_done_orders_id_places_a_new_order_after_the_window(
    alice_any_path, alice, btc_usdt, redis_conn, settings, db_check
):
    settings.API_CLIENT_ID_DB_CHECK = db_check
    settings.CLIENT_ORDER_ID_WINDOW_S = 1
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(first), client_order_id="once", status="FILLED")
    past_window(alice.pk, first, redis_conn)

    second = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once", price="29000"))
    found = alice_any_path.get("/api/v1/orders/by-client-id/once")

    assert (second.status_code, second.json()["duplicate"]) == (202, False)
    assert second.json()["order_id"] != first
    # The newest order of the id answers, persisted or not yet.
    assert (found.json()["order_id"], found.json()["status"]) == (second.json()["order_id"], "PENDING_NEW")
    assert len(stream_commands(alice.pk)) == 2
