from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from exchange.models import Balance, Market, Order, OrderStatus, OrderType, Side


def make_order(user, market, order_id: int, client_order_id: str, **fields) -> Order:
    now = timezone.now()
    values = {
        "id": order_id,
        "user": user,
        "market": market,
        "client_order_id": client_order_id,
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "price": Decimal("100.00"),
        "quantity": Decimal("1"),
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Order.objects.create(**values)


def test_a_client_order_id_may_name_a_later_order_of_the_same_user(alice, btc_usdt):
    # Once the first is done and its retry window passed: the accounts stage decides (ADR 0015).
    make_order(alice, btc_usdt, 1, "mine-1", status=OrderStatus.FILLED)
    make_order(alice, btc_usdt, 2, "mine-1")
    assert list(
        Order.objects.filter(client_order_id="mine-1").order_by("-id").values_list("id", flat=True)
    ) == [2, 1]


def test_it_lets_two_users_share_a_client_order_id(alice, bob, btc_usdt):
    make_order(alice, btc_usdt, 1, "same")
    make_order(bob, btc_usdt, 2, "same")
    assert Order.objects.filter(client_order_id="same").count() == 2


def test_it_keeps_64_bit_order_ids(alice, btc_usdt):
    big = (1 << 63) - 1
    make_order(alice, btc_usdt, big, "big")
    assert Order.objects.get(pk=big).status == OrderStatus.NEW


def test_it_refuses_an_order_without_quantity_or_quote_amount(alice, btc_usdt):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(alice, btc_usdt, 1, "x", quantity=None, quote_quantity=None)


def test_it_refuses_a_second_balance_row_for_one_user_and_asset(alice, btc):
    Balance.objects.create(user=alice, asset=btc)
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.create(user=alice, asset=btc)


@pytest.mark.parametrize("field", ["available", "locked"])
def test_it_refuses_a_negative_balance(alice, btc, field):
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.create(user=alice, asset=btc, **{field: Decimal("-0.000000000000000001")})


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite keeps decimals as floats (15 significant digits)"
)
def test_it_stores_amounts_with_18_places_exactly(alice, btc):
    amount = Decimal("123456789012345678.123456789012345678")
    Balance.objects.create(user=alice, asset=btc, available=amount)
    assert Balance.objects.get(user=alice, asset=btc).available == amount


def test_it_stores_amounts_of_15_significant_digits_exactly_on_every_database(alice, btc):
    amount = Decimal("1234567.12345678")
    Balance.objects.create(user=alice, asset=btc, available=amount)
    assert Balance.objects.get(user=alice, asset=btc).available == amount


def test_it_refuses_a_market_trading_an_asset_against_itself(btc):
    with pytest.raises(IntegrityError), transaction.atomic():
        Market.objects.create(
            symbol="BTC/BTC", base=btc, quote=btc, tick_size=Decimal("1"), lot_size=Decimal("1")
        )


def test_it_refuses_a_zero_tick_size(btc, usdt):
    with pytest.raises(IntegrityError), transaction.atomic():
        Market.objects.create(
            symbol="BTC/USDT", base=btc, quote=usdt, tick_size=Decimal(0), lot_size=Decimal("1")
        )
