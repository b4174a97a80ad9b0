"""A frozen account's new orders are refused on both serving paths; cancels and retries still answer."""

from __future__ import annotations

import pytest

from exchange.services.kill_switches import freeze_user, restore_frozen_flags, unfreeze_user
from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db


def test_a_frozen_user_cannot_place_orders(alice_any_path, alice, btc_usdt):
    freeze_user(alice, "operator", "suspicious withdrawals")

    response = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="after-freeze"))

    assert response.status_code == 403
    assert response.json()["code"] == "ACCOUNT_FROZEN"
    assert stream_commands(alice.pk) == []


def test_other_users_still_trade_while_one_is_frozen(alice_any_path, alice, bob, btc_usdt):
    freeze_user(bob, "operator")

    assert alice_any_path.post("/api/v1/orders", limit_buy()).status_code == 202


def test_unfreezing_lets_orders_in_again(alice_any_path, alice, btc_usdt):
    freeze_user(alice, "operator")
    unfreeze_user(alice, "operator")

    assert alice_any_path.post("/api/v1/orders", limit_buy()).status_code == 202


def test_a_retry_of_an_order_placed_before_the_freeze_answers_as_a_retry(alice_any_path, alice, btc_usdt):
    first = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="before"))
    freeze_user(alice, "operator")

    again = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="before"))

    assert again.json()["order_id"] == first.json()["order_id"]
    assert again.json()["duplicate"] is True


def test_a_frozen_user_can_still_cancel(alice_api, alice, btc_usdt):
    freeze_user(alice, "operator")

    assert alice_api.delete("/api/v1/orders?market=BTC/USDT").status_code == 202
    assert [c["t"] for c in stream_commands(alice.pk)] == ["cancel_all"]


def test_lost_flags_are_restored_from_the_database(alice_any_path, alice, btc_usdt, redis_conn):
    from exchange.pipeline.keys import accounts_keys

    freeze_user(alice, "operator")
    redis_conn.delete(accounts_keys(0).frozen)  # as if Redis had lost its data
    assert alice_any_path.post("/api/v1/orders", limit_buy()).status_code == 202

    assert restore_frozen_flags() == 1

    assert alice_any_path.post("/api/v1/orders", limit_buy()).json()["code"] == "ACCOUNT_FROZEN"


def test_a_frozen_user_cannot_amend(alice_api, alice, btc_usdt):
    from tests.api.support import persist_order

    order = persist_order(alice, btc_usdt, 4242)
    freeze_user(alice, "operator")

    response = alice_api.patch(f"/api/v1/orders/{order.id}", {"quantity": "0.002"})

    assert response.status_code == 403
    assert response.json()["code"] == "ACCOUNT_FROZEN"
    assert stream_commands(alice.pk) == []


def test_a_freeze_from_the_admin_refuses_the_next_order(alice_any_path, alice, operator, btc_usdt):
    from django.test import Client
    from django.urls import reverse

    admin = Client()
    admin.force_login(operator)
    admin.post(
        reverse("admin:auth_user_changelist"), {"action": "freeze_users", "_selected_action": [str(alice.pk)]}
    )

    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (403, "ACCOUNT_FROZEN")
