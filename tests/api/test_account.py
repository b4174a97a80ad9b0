"""GET /fills and GET /balances: from the user's side, and only the user's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from exchange.models import Balance, Trade
from tests.api.support import persist_order
from tests.db_reads import rows_read, skip_unless_mariadb

pytestmark = pytest.mark.django_db

ALICE_ORDER = (1_000_000 << 22) | (1 << 10)
BOB_ORDER = (1_000_000 << 22) | (2 << 10)


def _trade_row(trade_id, market, maker, maker_order, taker, taker_order, taker_side="BUY", **fields):
    values = {
        "price": Decimal("30000"),
        "quantity": Decimal("0.001"),
        "quote_quantity": Decimal("30"),
        "maker_fee": Decimal("0.03"),
        "taker_fee": Decimal("0.03"),
        "executed_at": timezone.now(),
    }
    values.update(fields)
    return Trade(
        id=trade_id,
        market=market,
        taker_side=taker_side,
        maker_order_id=maker_order,
        taker_order_id=taker_order,
        maker_user=maker,
        taker_user=taker,
        maker_fee_asset=market.quote,
        taker_fee_asset=market.quote,
        **values,
    )


def _trade(*args, **fields):
    trade = _trade_row(*args, **fields)
    trade.save(force_insert=True)
    return trade


def _history(market, sides, count=2000):
    """`count` trades with ids 1..count; `sides(n)` gives trade n's maker, maker order, taker, taker order."""
    Trade.objects.bulk_create(_trade_row(n, market, *sides(n)) for n in range(1, count + 1))


def test_fills_show_each_side_from_its_owner(alice_api, bob_api, alice, bob, btc_usdt):
    _trade(
        1, btc_usdt, maker=alice, maker_order=ALICE_ORDER, taker=bob, taker_order=BOB_ORDER, taker_side="BUY"
    )

    [alice_fill] = alice_api.get("/api/v1/fills").json()["items"]
    [bob_fill] = bob_api.get("/api/v1/fills").json()["items"]

    assert alice_fill == {
        "trade_id": "1",
        "order_id": str(ALICE_ORDER),
        "market": "BTC/USDT",
        "side": "SELL",
        "liquidity": "MAKER",
        "price": "30000",
        "quantity": "0.001",
        "quote_quantity": "30",
        "fee": "0.03",
        "fee_asset": "USDT",
        "executed_at": alice_fill["executed_at"],
    }
    assert (bob_fill["side"], bob_fill["liquidity"], bob_fill["order_id"]) == ("BUY", "TAKER", str(BOB_ORDER))


def test_a_self_trade_gives_two_fills(alice_api, alice, btc_usdt):
    _trade(1, btc_usdt, maker=alice, maker_order=ALICE_ORDER, taker=alice, taker_order=ALICE_ORDER + 1)

    fills = alice_api.get("/api/v1/fills").json()["items"]

    assert sorted(fill["liquidity"] for fill in fills) == ["MAKER", "TAKER"]
    only_maker = alice_api.get(f"/api/v1/fills?order_id={ALICE_ORDER}").json()["items"]
    assert [fill["liquidity"] for fill in only_maker] == ["MAKER"]


def test_fills_of_other_users_are_not_shown(alice_api, bob, btc_usdt):
    from django.contrib.auth import get_user_model

    carol = get_user_model().objects.create_user("carol")
    _trade(1, btc_usdt, maker=bob, maker_order=BOB_ORDER, taker=carol, taker_order=BOB_ORDER + 1)

    assert alice_api.get("/api/v1/fills").json() == {"items": [], "next_cursor": None}


def test_fills_page_newest_first_and_filter_by_market(alice_api, alice, bob, btc_usdt, eth_usdt_halted):
    for trade_id in (1, 2, 3):
        _trade(trade_id, btc_usdt, maker=alice, maker_order=ALICE_ORDER, taker=bob, taker_order=BOB_ORDER)
    _trade(4, eth_usdt_halted, maker=alice, maker_order=ALICE_ORDER + 7, taker=bob, taker_order=BOB_ORDER)

    first = alice_api.get("/api/v1/fills?market=BTC/USDT&limit=2").json()
    second = alice_api.get(f"/api/v1/fills?market=BTC/USDT&limit=2&cursor={first['next_cursor']}").json()

    assert [fill["trade_id"] for fill in first["items"]] == ["3", "2"]
    assert [fill["trade_id"] for fill in second["items"]] == ["1"]
    assert second["next_cursor"] is None
    # No fill can be in a market that does not exist: an empty page, not an error.
    assert alice_api.get("/api/v1/fills?market=XRP/USDT").json() == {"items": [], "next_cursor": None}


def test_balances_are_the_users_own(alice_api, alice, bob, btc, usdt):
    Balance.objects.create(user=alice, asset=usdt, available=Decimal("1000.5"), locked=Decimal("30"))
    Balance.objects.create(user=alice, asset=btc, available=Decimal("0.25"))
    Balance.objects.create(user=bob, asset=btc, available=Decimal("9"))

    response = alice_api.get("/api/v1/balances")

    assert response.status_code == 200
    assert response.json() == [
        {"asset": "BTC", "available": "0.25", "locked": "0", "total": "0.25"},
        {"asset": "USDT", "available": "1000.5", "locked": "30", "total": "1030.5"},
    ]


def test_persisted_orders_appear_in_fills_filter_by_order(alice_api, alice, bob, btc_usdt):
    persist_order(alice, btc_usdt, ALICE_ORDER)
    _trade(1, btc_usdt, maker=alice, maker_order=ALICE_ORDER, taker=bob, taker_order=BOB_ORDER)
    _trade(2, btc_usdt, maker=alice, maker_order=ALICE_ORDER + 1, taker=bob, taker_order=BOB_ORDER)

    fills = alice_api.get(f"/api/v1/fills?order_id={ALICE_ORDER}").json()["items"]

    assert [fill["trade_id"] for fill in fills] == ["1"]


def test_a_fills_page_reads_the_page_not_the_history(alice_api, alice, bob, btc_usdt):
    skip_unless_mariadb()
    # Alice is the maker of the odd trades and the taker of the even ones.
    _history(
        btc_usdt,
        lambda n: (alice, ALICE_ORDER, bob, BOB_ORDER) if n % 2 else (bob, BOB_ORDER, alice, ALICE_ORDER),
    )

    before = rows_read()
    page = alice_api.get("/api/v1/fills?limit=10").json()
    read = rows_read() - before

    assert [fill["trade_id"] for fill in page["items"]] == [str(n) for n in range(2000, 1990, -1)]
    assert [fill["liquidity"] for fill in page["items"][:2]] == ["TAKER", "MAKER"]
    assert read < 300, f"a page of 10 fills read {read} rows of 2,000 trades"


def test_the_fills_of_an_old_order_read_its_trades_not_the_history(alice_api, alice, bob, btc_usdt):
    skip_unless_mariadb()
    # One order of alice's a trade, each the maker.
    _history(btc_usdt, lambda n: (alice, ALICE_ORDER + n, bob, BOB_ORDER + n))

    before = rows_read()
    page = alice_api.get(f"/api/v1/fills?order_id={ALICE_ORDER + 5}").json()
    read = rows_read() - before

    assert [fill["trade_id"] for fill in page["items"]] == ["5"]
    assert read < 300, f"the fills of one order read {read} rows of 2,000 trades"
