"""`manage.py backfill_candles`: minutes before the first live candle, written once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from exchange.models import Candle, Trade

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def trade(market, trade_id, price, at, maker, taker):
    return Trade.objects.create(
        id=trade_id,
        market=market,
        price=Decimal(price),
        quantity=Decimal("1"),
        quote_quantity=Decimal(price),
        taker_side="SELL",
        maker_order_id=trade_id * 10,
        taker_order_id=trade_id * 10 + 1,
        maker_user=maker,
        taker_user=taker,
        maker_fee_asset=market.quote,
        taker_fee_asset=market.quote,
        executed_at=at,
    )


@pytest.mark.django_db
def test_it_fills_the_minutes_before_the_live_candles_and_only_once(btc_usdt):
    maker, taker = (get_user_model().objects.create_user(name) for name in ("maker", "taker"))
    trade(btc_usdt, 1, "100", T0 + timedelta(seconds=10), maker, taker)
    trade(btc_usdt, 2, "104", T0 + timedelta(seconds=50), maker, taker)
    trade(btc_usdt, 3, "90", T0 + timedelta(minutes=3), maker, taker)
    # The matching stage's first candle: from here on the minutes are kept live.
    trade(btc_usdt, 4, "95", T0 + timedelta(minutes=5), maker, taker)
    live = Candle.objects.create(
        market=btc_usdt,
        open_time=T0 + timedelta(minutes=5),
        open=Decimal("95"),
        high=Decimal("95"),
        low=Decimal("95"),
        close=Decimal("95"),
        volume=Decimal("1"),
        quote_volume=Decimal("95"),
        trades=1,
        first_trade_id=4,
        last_trade_id=4,
    )
    out = StringIO()
    call_command("backfill_candles", stdout=out)
    assert "BTC/USDT: 2 candle(s) before 2026-06-01 09:05 UTC" in out.getvalue()
    first = Candle.objects.get(open_time=T0)
    assert [first.open, first.high, first.low, first.close] == [
        Decimal(p) for p in ("100", "104", "100", "104")
    ]
    assert first.trades == 2
    assert (first.taker_buy_volume, first.first_trade_id, first.last_trade_id) == (Decimal(0), 1, 2)
    assert Candle.objects.get(pk=live.pk).volume == 1  # the live candle untouched

    again = StringIO()
    call_command("backfill_candles", "--market", "BTC/USDT", stdout=again)
    assert "BTC/USDT: 0 candle(s)" in again.getvalue()
    assert Candle.objects.count() == 3
    with pytest.raises(CommandError, match="no such market: XRP/USDT"):
        call_command("backfill_candles", "--market", "XRP/USDT")
