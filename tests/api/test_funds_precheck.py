"""API_FUNDS_PRECHECK: orders the persisted balance cannot fund are refused up front."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.models import Balance
from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db


@pytest.fixture
def precheck(settings):
    settings.API_FUNDS_PRECHECK = True


@pytest.fixture
def alice_funds(alice, btc, usdt):
    Balance.objects.create(user=alice, asset=usdt, available=Decimal("100"), locked=Decimal("1000"))
    Balance.objects.create(user=alice, asset=btc, available=Decimal("0.01"))


@pytest.mark.parametrize(
    "order",
    [
        limit_buy(
            price="30000", quantity="0.004"
        ),  # 120 USDT > 100 available (the locked 1000 does not count)
        {"market": "BTC/USDT", "side": "BUY", "type": "MARKET", "quote_quantity": "100.01"},
        {"market": "BTC/USDT", "side": "SELL", "type": "MARKET", "quantity": "0.02"},
    ],
)
def test_it_refuses_what_the_available_balance_cannot_cover(
    alice_any_path, alice, btc_usdt, precheck, alice_funds, order
):
    response = alice_any_path.post("/api/v1/orders", order)

    assert (response.status_code, response.json()["code"]) == (400, "INSUFFICIENT_FUNDS")
    assert stream_commands(alice.pk) == []


@pytest.mark.parametrize(
    "order",
    [
        limit_buy(price="30000", quantity="0.003"),
        {"market": "BTC/USDT", "side": "SELL", "type": "LIMIT", "price": "30000", "quantity": "0.01"},
        # A market buy by quantity costs what the book asks: only the accounts stage can tell.
        {"market": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "1"},
    ],
)
def test_it_lets_through_what_may_be_funded(alice_any_path, alice, btc_usdt, precheck, alice_funds, order):
    assert alice_any_path.post("/api/v1/orders", order).status_code == 202


def test_without_the_precheck_the_accounts_stage_decides(alice_any_path, alice, btc_usdt):
    assert alice_any_path.post("/api/v1/orders", limit_buy(quantity="100")).status_code == 202
    assert len(stream_commands(alice.pk)) == 1


def test_a_user_without_any_balance_is_refused(alice_any_path, alice, btc_usdt, precheck):
    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert response.json()["code"] == "INSUFFICIENT_FUNDS"
