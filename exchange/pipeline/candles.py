"""One-minute candles kept as trades happen, written with the trades that make them.

The matching stage adds each trade; the write buffer merges the trades of a
batch into one row per market and minute, and that row into the stored one
(volumes added, high and low kept, close and last trade id replaced), in the
transaction that writes the trades and the stream position: each trade is
counted exactly once, and a crashed worker's replay counts nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from exchange.models import Candle
from persistence.write_buffer import WriteBuffer

FIELDS = (
    "market_id",
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
MERGE = (
    ("high", "max"),
    ("low", "min"),
    ("close", "last"),
    ("volume", "add"),
    ("quote_volume", "add"),
    ("taker_buy_volume", "add"),
    ("taker_buy_quote_volume", "add"),
    ("trades", "add"),
    ("last_trade_id", "last"),
)
ZERO = Decimal(0)


class CandleWriter:
    def __init__(self, buffer: WriteBuffer) -> None:
        self._rows = buffer.table(Candle, FIELDS, key=("market_id", "open_time"), merge=MERGE)

    def add(
        self,
        market_id: int,
        executed_at: datetime,
        price: Decimal,
        quantity: Decimal,
        notional: Decimal,
        taker_buys: bool,
        trade_id: int,
    ) -> None:
        minute = executed_at.replace(second=0, microsecond=0)
        self._rows.add(
            (
                market_id,
                minute,
                price,
                price,
                price,
                price,
                quantity,
                notional,
                quantity if taker_buys else ZERO,
                notional if taker_buys else ZERO,
                1,
                trade_id,
                trade_id,
            )
        )
