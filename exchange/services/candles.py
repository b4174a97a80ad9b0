"""Minute candles of trades made before the matching stage kept candles (`manage.py backfill_candles`).

The matching stage writes a market's candles as its trades happen
(exchange.pipeline.candles). Trades older than the market's first such
candle have none: this folds them from the trades table, one minute at a
time, and inserts only minutes that have no candle, so it can run beside
live trading and be run again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from exchange.models import Candle, Market, Trade

DAY = timedelta(days=1)
_IN_CHUNK = 500  # SQLite caps the variables of one statement


def backfill_until(market: Market) -> datetime:
    """Where a market's history ends: the first minute with a candle, or the current minute."""
    first = Candle.objects.filter(market=market).aggregate(first=Min("open_time"))["first"]
    if first is not None:
        return first  # type: ignore[no-any-return]
    return timezone.now().replace(second=0, microsecond=0)


def backfill(market: Market, until: datetime | None = None) -> int:
    """Candles for the minutes before `until` that have trades and no candle; how many were written."""
    until = backfill_until(market) if until is None else until
    oldest = Trade.objects.filter(market=market).aggregate(first=Min("executed_at"))["first"]
    if oldest is None:
        return 0
    written = 0
    start = oldest.replace(second=0, microsecond=0)
    while start < until:  # a day of minutes per query keeps each result small
        end = min(start + DAY, until)
        written += _backfill_range(market, start, end)
        start = end
    return written


def _backfill_range(market: Market, start: datetime, end: datetime) -> int:
    minutes = (
        Trade.objects.filter(market=market, executed_at__gte=start, executed_at__lt=end)
        .annotate(minute=TruncMinute("executed_at"))
        .values("minute")
        .annotate(
            high=Max("price"),
            low=Min("price"),
            volume=Sum("quantity"),
            quote_volume=Sum("quote_quantity"),
            taker_buy_volume=Sum("quantity", filter=Q(taker_side="BUY")),
            taker_buy_quote_volume=Sum("quote_quantity", filter=Q(taker_side="BUY")),
            trades=Count("id"),
            first_id=Min("id"),
            last_id=Max("id"),
        )
        .order_by("minute")
    )
    rows: list[dict[str, Any]] = [dict(row) for row in minutes]
    if not rows:
        return 0
    prices = _prices_of([id_ for row in rows for id_ in (row["first_id"], row["last_id"])])
    existing = set(
        Candle.objects.filter(market=market, open_time__gte=start, open_time__lt=end).values_list(
            "open_time", flat=True
        )
    )
    candles = [
        Candle(
            market=market,
            open_time=row["minute"],
            open=prices[row["first_id"]],
            high=row["high"],
            low=row["low"],
            close=prices[row["last_id"]],
            volume=row["volume"],
            quote_volume=row["quote_volume"],
            taker_buy_volume=row["taker_buy_volume"] or Decimal(0),
            taker_buy_quote_volume=row["taker_buy_quote_volume"] or Decimal(0),
            trades=row["trades"],
            first_trade_id=row["first_id"],
            last_trade_id=row["last_id"],
        )
        for row in rows
        if row["minute"] not in existing
    ]
    Candle.objects.bulk_create(candles, ignore_conflicts=True)
    return len(candles)


def _prices_of(trade_ids: list[int]) -> dict[int, Decimal]:
    ids = sorted(set(trade_ids))
    prices: dict[int, Decimal] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        prices.update(Trade.objects.filter(id__in=ids[start : start + _IN_CHUNK]).values_list("id", "price"))
    return prices
