"""Public market data: the book from the matching worker, trades, ticker and candles from the database.

Candles and the ticker aggregate the trades table in SQL, bucketed with
Trunc (portable across MariaDB and SQLite); 5-minute candles are folded
from 1-minute buckets. Open and close are the prices of the first and last
trade of a bucket by trade id, which the engine assigns in time order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from exchange.amounts import amount_text as plain_amount
from exchange.api.decimals import amount_text
from exchange.api.errors import Unavailable
from exchange.api.order_lookup import millis
from exchange.api.redis_clients import api_redis
from exchange.models import Market, Trade
from exchange.replica import reader
from exchange.routing import SymbolRouter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interval:
    millis: int
    trunc: Any  # the Trunc function whose buckets fold into this interval


INTERVALS = {
    "1m": Interval(60_000, TruncMinute),
    "5m": Interval(300_000, TruncMinute),
    "1h": Interval(3_600_000, TruncHour),
    "1d": Interval(86_400_000, TruncDay),
}
_IN_CHUNK = 500  # SQLite caps the variables of one statement


def depth_key(market: Market) -> str:
    shard = SymbolRouter.from_settings().shard_for_market(market)
    return f"{settings.REDIS_KEY_PREFIX}:{{m{shard}}}:depth:{market.symbol}"


def depth(market: Market, limit: int) -> dict[str, Any]:
    try:
        raw = api_redis().get(depth_key(market))
    except redis.RedisError as exc:
        raise Unavailable("the order book is briefly unavailable; retry", retry_after_s=1) from exc
    book: dict[str, Any] = {}
    if raw:
        try:
            loaded = json.loads(raw)
            book = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            logger.warning("unreadable depth snapshot of %s", market.symbol)
    seq = book.get("seq")
    return {
        "market": market.symbol,
        "seq": seq if isinstance(seq, int) else 0,
        "bids": _levels(book.get("bids"), limit),
        "asks": _levels(book.get("asks"), limit),
    }


def _levels(levels: Any, limit: int) -> list[tuple[str, str]]:
    """The snapshot's levels at the market's grid ("30000.00") as every other amount is written ("30000")."""
    if not isinstance(levels, list):
        return []
    texts = []
    for level in levels[:limit]:
        if not (isinstance(level, list) and len(level) == 2):
            continue
        try:
            price, quantity = Decimal(str(level[0])), Decimal(str(level[1]))
        except ArithmeticError:
            price = quantity = Decimal("NaN")
        if not (price.is_finite() and quantity.is_finite()):
            logger.warning("unreadable depth level %r", level)
            continue
        texts.append((plain_amount(price), plain_amount(quantity)))
    return texts


def recent_trades(market: Market, limit: int) -> list[dict[str, Any]]:
    trades = Trade.objects.using(reader()).filter(market=market).order_by("-id")[:limit]
    return [
        {
            "id": str(trade.id),
            "price": amount_text(trade.price),
            "quantity": amount_text(trade.quantity),
            "quote_quantity": amount_text(trade.quote_quantity),
            "taker_side": trade.taker_side,
            "executed_at": millis(trade.executed_at),
        }
        for trade in trades
    ]


def _from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _aggregates() -> dict[str, Any]:
    return {
        "high": Max("price"),
        "low": Min("price"),
        "volume": Sum("quantity"),
        "quote_volume": Sum("quote_quantity"),
        "taker_buy_volume": Sum("quantity", filter=Q(taker_side="BUY")),
        "taker_buy_quote_volume": Sum("quote_quantity", filter=Q(taker_side="BUY")),
        "trades": Count("id"),
        "first_id": Min("id"),
        "last_id": Max("id"),
    }


def _prices_of(trade_ids: Iterable[int], alias: str) -> dict[int, Decimal]:
    ids = sorted(set(trade_ids))
    prices: dict[int, Decimal] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        prices.update(Trade.objects.using(alias).filter(id__in=chunk).values_list("id", "price"))
    return prices


def ticker(market: Market, now: datetime) -> dict[str, Any]:
    start = now - timedelta(hours=24)
    alias = reader()
    totals = (
        Trade.objects.using(alias)
        .filter(market=market, executed_at__gte=start, executed_at__lte=now)
        .aggregate(**_aggregates())
    )
    book = depth(market, 1)
    open_price = close_price = None
    if totals["trades"]:
        prices = _prices_of([totals["first_id"], totals["last_id"]], alias)
        open_price, close_price = prices[totals["first_id"]], prices[totals["last_id"]]
    return {
        "market": market.symbol,
        "open": amount_text(open_price),
        "high": amount_text(totals["high"]),
        "low": amount_text(totals["low"]),
        "last": amount_text(close_price),
        "volume": amount_text(totals["volume"] or Decimal(0)),
        "quote_volume": amount_text(totals["quote_volume"] or Decimal(0)),
        "trades": totals["trades"],
        "change": amount_text(close_price - open_price)
        if close_price is not None and open_price is not None
        else None,
        "best_bid": book["bids"][0][0] if book["bids"] else None,
        "best_ask": book["asks"][0][0] if book["asks"] else None,
        "window_start": millis(start),
        "window_end": millis(now),
        # Read by the Binance-compatible ticker; /api/v1's TickerOut leaves them out.
        "first_id": totals["first_id"],
        "last_id": totals["last_id"],
    }


def candles(market: Market, interval_name: str, limit: int, end_ms: int) -> list[dict[str, Any]]:
    """Candles with at least one trade, oldest first, the last one containing `end_ms`."""
    interval = INTERVALS[interval_name]
    last_open = end_ms - end_ms % interval.millis
    first_open = last_open - (limit - 1) * interval.millis
    alias = reader()
    rows = (
        Trade.objects.using(alias)
        .filter(
            market=market,
            executed_at__gte=_from_millis(first_open),
            executed_at__lt=_from_millis(last_open + interval.millis),
        )
        .annotate(bucket=interval.trunc("executed_at"))
        .values("bucket")
        .annotate(**_aggregates())
        .order_by("bucket")
    )
    buckets: dict[int, dict[str, Any]] = {}
    for values in rows:
        row: dict[str, Any] = dict(values)
        opened = millis(row["bucket"])
        opened -= opened % interval.millis
        candle = buckets.get(opened)
        if candle is None:
            buckets[opened] = row
            continue
        candle["high"] = max(candle["high"], row["high"])
        candle["low"] = min(candle["low"], row["low"])
        candle["volume"] += row["volume"]
        candle["quote_volume"] += row["quote_volume"]
        for name in ("taker_buy_volume", "taker_buy_quote_volume"):
            candle[name] = (candle[name] or 0) + (row[name] or 0)
        candle["trades"] += row["trades"]
        candle["first_id"] = min(candle["first_id"], row["first_id"])
        candle["last_id"] = max(candle["last_id"], row["last_id"])
    prices = _prices_of((id_ for c in buckets.values() for id_ in (c["first_id"], c["last_id"])), alias)
    return [
        {
            "open_time": opened,
            "open": amount_text(prices[c["first_id"]]),
            "high": amount_text(c["high"]),
            "low": amount_text(c["low"]),
            "close": amount_text(prices[c["last_id"]]),
            "volume": amount_text(c["volume"]),
            "quote_volume": amount_text(c["quote_volume"]),
            "trades": c["trades"],
            # Read by the Binance-compatible klines; /api/v1's CandleOut leaves them out.
            "taker_buy_volume": amount_text(c["taker_buy_volume"] or Decimal(0)),
            "taker_buy_quote_volume": amount_text(c["taker_buy_quote_volume"] or Decimal(0)),
        }
        for opened, c in sorted(buckets.items())
    ]
