from __future__ import annotations

from decimal import Decimal

from exchange.models import Balance, LedgerEntry, Order, Trade


def balance(user, code: str) -> tuple[Decimal, Decimal]:
    row = Balance.objects.get(user=user, asset__code=code)
    return row.available, row.locked


def test_a_limit_order_holds_funds_matches_settles_and_is_persisted(pipeline, alice, bob, fee_account):
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.run()
    assert balance(bob, "BTC") == (Decimal("0.5"), Decimal("0.5"))
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="0.2")
    pipeline.run()

    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.taker_side) == (Decimal("100"), Decimal("0.2"), "BUY")
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert Order.objects.get(pk=sell).status == "PARTIALLY_FILLED"
    # 0.2 BTC at 100 = 20 USDT, 0.1 % fee each side
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("20") - Decimal("0.02"), Decimal(0))
    assert balance(alice, "BTC") == (Decimal("0.2"), Decimal(0))
    assert balance(bob, "USDT") == (Decimal("20") - Decimal("0.02"), Decimal(0))
    assert balance(bob, "BTC") == (Decimal("0.5"), Decimal("0.3"))
    assert balance(fee_account, "USDT") == (Decimal("0.04"), Decimal(0))
    assert LedgerEntry.objects.filter(trade_id=trade.id).count() >= 5
