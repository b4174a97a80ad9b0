"""Answers of the public market-data endpoints."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

from exchange.api.id_texts import IdText
from exchange.api.order_schemas import SideName

PriceLevel = tuple[str, str]


class MarketOut(Schema):
    symbol: str
    base: str
    quote: str
    status: Literal["trading", "halted", "closed"]
    tick_size: str = Field(description="Prices are multiples of this.")
    lot_size: str = Field(description="Quantities are multiples of this.")
    min_quantity: str
    min_notional: str = Field(description="Smallest price times quantity.")
    maker_fee_rate: str
    taker_fee_rate: str


class DepthOut(Schema):
    market: str
    seq: int = Field(description="The book's sequence number; 0 before the engine published one.")
    bids: list[PriceLevel] = Field(description="[price, quantity], best (highest) first.")
    asks: list[PriceLevel] = Field(description="[price, quantity], best (lowest) first.")


class PublicTradeOut(Schema):
    id: IdText
    price: str
    quantity: str
    quote_quantity: str
    taker_side: SideName
    executed_at: int = Field(description="Unix milliseconds.")


class TickerOut(Schema):
    market: str
    open: str | None = Field(description="Price of the first trade of the last 24 hours.")
    high: str | None
    low: str | None
    last: str | None
    volume: str = Field(description="Base quantity traded in the last 24 hours.")
    quote_volume: str
    trades: int
    change: str | None = Field(description="last - open.")
    best_bid: str | None
    best_ask: str | None
    window_start: int = Field(description="Unix milliseconds.")
    window_end: int = Field(description="Unix milliseconds.")


class CandleOut(Schema):
    open_time: int = Field(description="Unix milliseconds of the candle's start.")
    open: str
    high: str
    low: str
    close: str
    volume: str
    quote_volume: str
    trades: int
