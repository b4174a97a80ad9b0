"""Minute candles kept by the matching stage equal candles folded from the trades it wrote."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from exchange.models import Candle, Market, Trade
from exchange.services.candles import backfill

FIELDS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "trades",
    "first_trade_id",
    "last_trade_id",
)


def candle_rows(market: Market) -> list[tuple[Any, ...]]:
    return list(Candle.objects.filter(market=market).order_by("open_time").values_list(*FIELDS))


def test_live_candles_are_the_trades_folded_by_minute(pipeline, alice, bob, btc_usdt):
    pipeline.deposit(alice, "USDT", "1000000")
    pipeline.deposit(bob, "BTC", "100")
    pipeline.run()
    rng = random.Random(3)
    for round_ in range(4):  # several batches, so stored candles are merged with later ones
        for _ in range(4):
            price = Decimal(100 + rng.randint(-3, 3))
            pipeline.place(bob, "BTC/USDT", "SELL", price=str(price), quantity="0.1")
            taker_side = "BUY" if round_ % 3 else "SELL"
            if taker_side == "BUY":
                pipeline.place(alice, "BTC/USDT", "BUY", price=str(price + 5), quantity="0.1")
        pipeline.run()
    assert Trade.objects.count() >= 8

    live = candle_rows(btc_usdt)
    assert sum(row[FIELDS.index("trades")] for row in live) == Trade.objects.count()
    Candle.objects.all().delete()
    backfill(btc_usdt, until=timezone.now() + timedelta(minutes=1))  # the current minute too
    assert candle_rows(btc_usdt) == live
