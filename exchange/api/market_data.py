"""Public market data: the book from the matching worker, trades, ticker and candles from the database.

Candles and the ticker fold the one-minute candles the matching stage keeps
as trades happen (exchange.pipeline.candles), never the trades table:
bucketed with Trunc (portable across MariaDB and SQLite); 5-minute candles
are folded from 1-minute buckets. Open and close are those of the bucket's
minutes holding its first and last trade by trade id, which the engine
assigns in time order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db.models import Max, Min, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute

from exchange.amounts import amount_text as plain_amount
from exchange.api.decimals import amount_text
from exchange.api.errors import Unavailable
from exchange.api.order_lookup import millis
from exchange.api.redis_clients import api_redis
from exchange.models import Candle, Market, Trade
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
    """One bucket of minute candles folded: extremes, sums, and its first and last trade."""
    return {
        "high": Max("high"),
        "low": Min("low"),
        "volume": Sum("volume"),
        "quote_volume": Sum("quote_volume"),
        "taker_buy_volume": Sum("taker_buy_volume"),
        "taker_buy_quote_volume": Sum("taker_buy_quote_volume"),
        "trades": Sum("trades"),
        "first_id": Min("first_trade_id"),
        "last_id": Max("last_trade_id"),
        "first_minute": Min("open_time"),
        "last_minute": Max("open_time"),
    }


def _minute_candles(market: Market, start: datetime, end: datetime, alias: str) -> QuerySet[Candle]:
    """Minute candles with open_time in [start, end): on the (market, open_time) unique index."""
    return Candle.objects.using(alias).filter(market=market, open_time__gte=start, open_time__lt=end)


def _opens_and_closes(
    market: Market, first_minutes: list[datetime], last_minutes: list[datetime], alias: str
) -> tuple[dict[datetime, Decimal], dict[datetime, tuple[Decimal, int]]]:
    """The open of each minute of `first_minutes`; the close and last trade id of each of `last_minutes`.

    Read by minute, on the (market, open_time) unique index, not by the trade
    ids the aggregate saw: the database reads at READ COMMITTED, so a minute
    whose candle took a trade after the aggregate's statement has a newer last
    trade id by the time of this one (under live trading a lookup by the old id
    found nothing: a 500 for about one ticker in a hundred). A minute's open
    never changes; its close here may be a trade newer than the aggregate's.
    """
    rows: dict[datetime, tuple[Decimal, Decimal, int]] = {}
    minutes = sorted({*first_minutes, *last_minutes})
    for chunk_start in range(0, len(minutes), _IN_CHUNK):
        chunk = minutes[chunk_start : chunk_start + _IN_CHUNK]
        found = Candle.objects.using(alias).filter(market=market, open_time__in=chunk)
        rows.update(
            (opened, (open_price, close_price, last_id))
            for opened, open_price, close_price, last_id in found.values_list(
                "open_time", "open", "close", "last_trade_id"
            )
        )
    opens = {minute: rows[minute][0] for minute in first_minutes}
    closes = {minute: (rows[minute][1], rows[minute][2]) for minute in last_minutes}
    return opens, closes


def ticker(market: Market, now: datetime) -> dict[str, Any]:
    """The last 24 hours by whole minutes: from the minute of now - 24 h to now."""
    start = (now - timedelta(hours=24)).replace(second=0, microsecond=0)
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    alias = reader()
    totals = _minute_candles(market, start, end, alias).aggregate(**_aggregates())
    book = depth(market, 1)
    open_price = close_price = None
    if totals["trades"]:
        first, last = totals["first_minute"], totals["last_minute"]
        opens, closes = _opens_and_closes(market, [first], [last], alias)
        # The last price and its trade id from the same row, the newest if it moved on meanwhile.
        open_price, (close_price, totals["last_id"]) = opens[first], closes[last]
    return {
        "market": market.symbol,
        "open": amount_text(open_price),
        "high": amount_text(totals["high"]),
        "low": amount_text(totals["low"]),
        "last": amount_text(close_price),
        "volume": amount_text(totals["volume"] or Decimal(0)),
        "quote_volume": amount_text(totals["quote_volume"] or Decimal(0)),
        "trades": totals["trades"] or 0,
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
    start, end = _from_millis(first_open), _from_millis(last_open + interval.millis)
    alias = reader()
    rows = (
        _minute_candles(market, start, end, alias)
        .annotate(bucket=interval.trunc("open_time"))
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
        for name in ("volume", "quote_volume", "taker_buy_volume", "taker_buy_quote_volume", "trades"):
            candle[name] += row[name]
        candle["first_minute"] = min(candle["first_minute"], row["first_minute"])
        candle["last_minute"] = max(candle["last_minute"], row["last_minute"])
    opens, closes = _opens_and_closes(
        market,
        [c["first_minute"] for c in buckets.values()],
        [c["last_minute"] for c in buckets.values()],
        alias,
    )
    return [
        {
            "open_time": opened,
            "open": amount_text(opens[c["first_minute"]]),
            "high": amount_text(c["high"]),
            "low": amount_text(c["low"]),
            "close": amount_text(closes[c["last_minute"]][0]),
            "volume": amount_text(c["volume"]),
            "quote_volume": amount_text(c["quote_volume"]),
            "trades": c["trades"],
            # Read by the Binance-compatible klines; /api/v1's CandleOut leaves them out.
            "taker_buy_volume": amount_text(c["taker_buy_volume"]),
            "taker_buy_quote_volume": amount_text(c["taker_buy_quote_volume"]),
        }
        for opened, c in sorted(buckets.items())
    ]
