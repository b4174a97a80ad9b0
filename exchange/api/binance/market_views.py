"""Binance's public endpoints: ping, time, exchangeInfo, depth, trades, aggTrades, klines, tickers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from exchange.amounts import amount_text
from exchange.api.binance.errors import INVALID_INTERVAL, BinanceError
from exchange.api.binance.formats import STP_FROM_BINANCE
from exchange.api.binance.params import Params
from exchange.api.binance.symbols import binance_symbol, market_of, rules_of, symbols_param
from exchange.api.market_data import INTERVALS, candles, depth, recent_trades, ticker
from exchange.api.market_rules import market_rules
from exchange.models import Market, Trade
from exchange.pipeline.markets import MarketRules
from exchange.replica import reader

MAX_DEPTH = 100  # the matching worker publishes this many levels a side (DEPTH_LEVELS)
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]


def ping(request: HttpRequest, params: Params) -> Any:
    return {}


def server_time(request: HttpRequest, params: Params) -> Any:
    return {"serverTime": int(time.time() * 1000)}


def exchange_info(request: HttpRequest, params: Params) -> Any:
    chosen = symbols_param(params)
    return {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [_symbol_info(rules) for rules in (chosen or market_rules.all())],
    }


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _symbol_info(rules: MarketRules) -> dict[str, Any]:
    base_precision = _decimals(rules.lot_size)
    quote_precision = _decimals(rules.tick_size)
    return {
        "symbol": binance_symbol(rules.symbol),
        "status": "TRADING" if rules.trading else "HALT",
        "baseAsset": rules.base,
        "baseAssetPrecision": base_precision,
        "quoteAsset": rules.quote,
        "quotePrecision": quote_precision,
        "quoteAssetPrecision": quote_precision,
        "baseCommissionPrecision": base_precision,
        "quoteCommissionPrecision": quote_precision,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": amount_text(rules.tick_size),
                "maxPrice": "0",
                "tickSize": amount_text(rules.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": amount_text(max(rules.min_quantity, rules.lot_size)),
                "maxQty": "0",
                "stepSize": amount_text(rules.lot_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": amount_text(rules.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "0",
                "applyMaxToMarket": False,
                "avgPriceMins": 0,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_TAKER",
        "allowedSelfTradePreventionModes": list(STP_FROM_BINANCE),
        "makerCommission": amount_text(rules.maker_fee_rate),
        "takerCommission": amount_text(rules.taker_fee_rate),
    }


def order_book(request: HttpRequest, params: Params) -> Any:
    market = market_of(params.required("symbol"))
    limit = params.integer("limit", 100, low=1, high=5000)
    assert limit is not None
    book = depth(market, min(limit, MAX_DEPTH))
    return {"lastUpdateId": book["seq"], "bids": book["bids"], "asks": book["asks"]}


def trades(request: HttpRequest, params: Params) -> Any:
    market = market_of(params.required("symbol"))
    limit = params.integer("limit", 500, low=1, high=1000)
    assert limit is not None
    return [
        {
            "id": int(trade["id"]),
            "price": trade["price"],
            "qty": trade["quantity"],
            "quoteQty": trade["quote_quantity"],
            "time": trade["executed_at"],
            "isBuyerMaker": trade["taker_side"] == "SELL",
            "isBestMatch": True,
        }
        for trade in reversed(recent_trades(market, limit))
    ]


def agg_trades(request: HttpRequest, params: Params) -> Any:
    """Each trade is its own aggregate: the engine never splits one taker's fill at one price."""
    market = market_of(params.required("symbol"))
    limit = params.integer("limit", 500, low=1, high=1000)
    from_id = params.integer("fromId")
    start = params.integer("startTime")
    end = params.integer("endTime")
    assert limit is not None
    rows = Trade.objects.using(reader()).filter(market=market)
    if from_id is not None:
        rows = rows.filter(id__gte=from_id).order_by("id")
    else:
        if start is not None:
            rows = rows.filter(executed_at__gte=_moment(start))
        if end is not None:
            rows = rows.filter(executed_at__lte=_moment(end))
        rows = rows.order_by("id") if start is not None else rows.order_by("-id")
    picked = list(rows[:limit])
    picked.sort(key=lambda trade: trade.id)
    return [
        {
            "a": trade.id,
            "p": amount_text(trade.price),
            "q": amount_text(trade.quantity),
            "f": trade.id,
            "l": trade.id,
            "T": int(trade.executed_at.timestamp() * 1000),
            "m": trade.taker_side == "SELL",
            "M": True,
        }
        for trade in picked
    ]


def _moment(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def klines(request: HttpRequest, params: Params) -> Any:
    market = market_of(params.required("symbol"))
    interval_name = params.required("interval")
    if interval_name not in INTERVALS:
        raise BinanceError(INVALID_INTERVAL, f"Invalid interval; this exchange keeps {', '.join(INTERVALS)}.")
    limit = params.integer("limit", 500, low=1, high=1000)
    start = params.integer("startTime")
    end = params.integer("endTime")
    assert limit is not None
    interval_ms = INTERVALS[interval_name].millis
    end_ms = int(time.time() * 1000) if end is None else end
    if start is not None:
        end_ms = min(end_ms, start - start % interval_ms + limit * interval_ms - 1)
    rows = candles(market, interval_name, limit, end_ms)
    if start is not None:
        rows = [row for row in rows if row["open_time"] + interval_ms > start]
    return [
        [
            row["open_time"],
            row["open"],
            row["high"],
            row["low"],
            row["close"],
            row["volume"],
            row["open_time"] + interval_ms - 1,
            row["quote_volume"],
            row["trades"],
            row["taker_buy_volume"],
            row["taker_buy_quote_volume"],
            "0",
        ]
        for row in rows
    ]


def _markets(params: Params) -> tuple[list[Market], bool]:
    """The markets asked for, and whether one object (not a list) is the answer."""
    chosen = symbols_param(params)
    single = params.values.get("symbol") is not None
    ids = [rules.market_id for rules in (chosen or market_rules.all())]
    markets = list(Market.objects.select_related("base", "quote").filter(id__in=ids).order_by("symbol"))
    return markets, single


def ticker_24h(request: HttpRequest, params: Params) -> Any:
    markets, single = _markets(params)
    now = timezone.now()
    answers = [_ticker(market, now) for market in markets]
    return answers[0] if single else answers


def _ticker(market: Market, now: Any) -> dict[str, Any]:
    figures = ticker(market, now)
    book = depth(market, 1)
    volume = Decimal(figures["volume"])
    quote_volume = Decimal(figures["quote_volume"])
    last_quantity = "0"
    if figures["last_id"] is not None:
        last_quantity = amount_text(
            Trade.objects.using(reader()).values_list("quantity", flat=True).get(id=figures["last_id"])
        )
    change = Decimal(figures["change"] or 0)
    open_price = Decimal(figures["open"] or 0)
    return {
        "symbol": binance_symbol(market.symbol),
        "priceChange": amount_text(change),
        "priceChangePercent": f"{(change / open_price * 100 if open_price else Decimal(0)):.3f}",
        "weightedAvgPrice": amount_text((quote_volume / volume).quantize(Decimal("1e-8"))) if volume else "0",
        "prevClosePrice": figures["open"] or "0",
        "lastPrice": figures["last"] or "0",
        "lastQty": last_quantity,
        "bidPrice": book["bids"][0][0] if book["bids"] else "0",
        "bidQty": book["bids"][0][1] if book["bids"] else "0",
        "askPrice": book["asks"][0][0] if book["asks"] else "0",
        "askQty": book["asks"][0][1] if book["asks"] else "0",
        "openPrice": figures["open"] or "0",
        "highPrice": figures["high"] or "0",
        "lowPrice": figures["low"] or "0",
        "volume": figures["volume"],
        "quoteVolume": figures["quote_volume"],
        "openTime": figures["window_start"],
        "closeTime": figures["window_end"],
        "firstId": figures["first_id"] if figures["first_id"] is not None else -1,
        "lastId": figures["last_id"] if figures["last_id"] is not None else -1,
        "count": figures["trades"],
    }


def ticker_price(request: HttpRequest, params: Params) -> Any:
    markets, single = _markets(params)
    answers = []
    for market in markets:
        last = (
            Trade.objects.using(reader())
            .filter(market=market)
            .order_by("-id")
            .values_list("price", flat=True)
            .first()
        )
        answers.append({"symbol": binance_symbol(market.symbol), "price": amount_text(last) if last else "0"})
    return answers[0] if single else answers


def book_ticker(request: HttpRequest, params: Params) -> Any:
    markets, single = _markets(params)
    answers = []
    for market in markets:
        book = depth(market, 1)
        bid = book["bids"][0] if book["bids"] else ("0", "0")
        ask = book["asks"][0] if book["asks"] else ("0", "0")
        answers.append(
            {
                "symbol": binance_symbol(market.symbol),
                "bidPrice": bid[0],
                "bidQty": bid[1],
                "askPrice": ask[0],
                "askQty": ask[1],
            }
        )
    return answers[0] if single else answers


def avg_price(request: HttpRequest, params: Params) -> Any:
    """The volume-weighted price of the last 5 minutes' trades (Binance's avgPrice)."""
    rules = rules_of(params.required("symbol"))
    since = timezone.now().timestamp() - 300
    totals = (
        Trade.objects.using(reader())
        .filter(market_id=rules.market_id, executed_at__gte=_moment(int(since * 1000)))
        .aggregate(volume=Sum("quantity"), quote=Sum("quote_quantity"))
    )
    volume, quote = totals["volume"] or Decimal(0), totals["quote"] or Decimal(0)
    price = (quote / volume).quantize(Decimal("1e-8")) if volume else Decimal(0)
    return {"mins": 5, "price": amount_text(price), "closeTime": int(time.time() * 1000)}
