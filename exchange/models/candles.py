"""One-minute candles, kept by the matching stage as trades happen (exchange.pipeline.candles).

Longer intervals and the 24 h ticker are folded from these rows, so market
data never scans the trades table.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from exchange.models.fields import amount_field
from exchange.models.markets import Market


class Candle(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="candles")
    open_time = models.DateTimeField(help_text="The minute's start (UTC).")
    open = amount_field(help_text="Price of the minute's first trade (lowest trade id).")
    high = amount_field()
    low = amount_field()
    close = amount_field(help_text="Price of the minute's last trade (highest trade id).")
    volume = amount_field(default=Decimal(0), help_text="Base quantity traded.")
    quote_volume = amount_field(default=Decimal(0))
    taker_buy_volume = amount_field(default=Decimal(0), help_text="Base quantity bought by takers.")
    taker_buy_quote_volume = amount_field(default=Decimal(0))
    trades = models.BigIntegerField(default=0)
    first_trade_id = models.BigIntegerField()
    last_trade_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["market", "open_time"], name="candle_market_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.market_id} {self.open_time:%Y-%m-%d %H:%M}"
