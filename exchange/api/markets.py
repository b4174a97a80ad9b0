"""Public market data: markets and their rules, depth, trades, ticker, candles.

A market is addressed as /markets/{base}/{quote}, e.g. /markets/BTC/USDT.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router

from exchange.api.decimals import amount_text
from exchange.api.errors import NotFound, error_responses
from exchange.api.market_data import candles, depth, recent_trades, ticker
from exchange.api.market_schemas import CandleOut, DepthOut, MarketOut, PublicTradeOut, TickerOut
from exchange.models import Market

router = Router(tags=["market data"])

AssetCode = Annotated[str, Path(pattern=r"^[A-Z0-9]{2,16}$", examples=["BTC"])]
MARKET_ERRORS = error_responses(400, 404, 503)


def _market(base: str, quote: str) -> Market:
    market = Market.objects.select_related("base", "quote").filter(symbol=f"{base}/{quote}").first()
    if market is None:
        raise NotFound(f"no market {base}/{quote}", "MARKET_NOT_FOUND")
    return market


def _market_payload(market: Market) -> dict[str, Any]:
    return {
        "symbol": market.symbol,
        "base": market.base.code,
        "quote": market.quote.code,
        "status": market.status,
        "tick_size": amount_text(market.tick_size),
        "lot_size": amount_text(market.lot_size),
        "min_quantity": amount_text(market.min_quantity),
        "min_notional": amount_text(market.min_notional),
        "maker_fee_rate": amount_text(market.maker_fee_rate),
        "taker_fee_rate": amount_text(market.taker_fee_rate),
    }


@router.get(
    "/markets",
    response={200: list[MarketOut], **error_responses(503)},
    summary="Markets and their trading rules",
)
def list_markets(request: HttpRequest) -> list[dict[str, Any]]:
    return [_market_payload(market) for market in Market.objects.select_related("base", "quote")]


@router.get(
    "/markets/{base}/{quote}", response={200: MarketOut, **MARKET_ERRORS}, summary="One market and its rules"
)
def get_market(request: HttpRequest, base: AssetCode, quote: AssetCode) -> dict[str, Any]:
    return _market_payload(_market(base, quote))


@router.get(
    "/markets/{base}/{quote}/depth",
    response={200: DepthOut, **MARKET_ERRORS},
    summary="The best price levels of the book",
)
def get_depth(
    request: HttpRequest, base: AssetCode, quote: AssetCode, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return depth(_market(base, quote), limit)


@router.get(
    "/markets/{base}/{quote}/trades",
    response={200: list[PublicTradeOut], **MARKET_ERRORS},
    summary="Recent trades, newest first",
)
def get_trades(
    request: HttpRequest, base: AssetCode, quote: AssetCode, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    return recent_trades(_market(base, quote), limit)


@router.get(
    "/markets/{base}/{quote}/ticker",
    response={200: TickerOut, **MARKET_ERRORS},
    summary="Statistics of the last 24 hours",
)
def get_ticker(request: HttpRequest, base: AssetCode, quote: AssetCode) -> dict[str, Any]:
    return ticker(_market(base, quote), timezone.now())


@router.get(
    "/markets/{base}/{quote}/candles",
    response={200: list[CandleOut], **MARKET_ERRORS},
    summary="OHLCV candles, oldest first; intervals without trades are left out",
)
def get_candles(
    request: HttpRequest,
    base: AssetCode,
    quote: AssetCode,
    interval: Literal["1m", "5m", "1h", "1d"] = "1m",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    end: Annotated[
        int | None, Query(ge=0, le=4_102_444_800_000, description="Unix ms (before 2100); default now.")
    ] = None,
) -> list[dict[str, Any]]:
    end_ms = int(time.time() * 1000) if end is None else end
    return candles(_market(base, quote), interval, limit, end_ms)
