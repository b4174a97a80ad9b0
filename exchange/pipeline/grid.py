"""One market's conversions between amounts and the engine's integers, each made once.

A matching shard meets the same few prices and sizes over and over (a book
has a few hundred levels; traders reuse their sizes), and each conversion
is exact Decimal arithmetic with its checks: 0.3-0.5 us. So each distinct
text or integer is converted once and looked up after that; a table that
grows past its bound starts afresh, which costs a conversion, never a
wrong answer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from exchange.pipeline.messages import decimal_value
from matching import from_lots, from_ticks, to_lots, to_ticks

LIMIT = 50_000  # entries per table

Key = TypeVar("Key")
Value = TypeVar("Value")


class MarketGrid:
    def __init__(self, tick_size: Decimal, lot_size: Decimal) -> None:
        self.tick_size = tick_size
        self.lot_size = lot_size
        self._price_texts: dict[str, tuple[Decimal, int | None]] = {}
        self._quantity_texts: dict[str, tuple[Decimal, int | None]] = {}
        self._prices: dict[int, tuple[Decimal, str]] = {}
        self._quantities: dict[int, tuple[Decimal, str]] = {}

    def price_from_text(self, text: Any, name: str) -> tuple[Decimal, int | None]:
        """A price's Decimal and ticks (None off the tick grid); MalformedEntry if it is not a decimal."""
        found = self._price_texts.get(text) if type(text) is str else None
        if found is None:
            value = decimal_value(text, name)
            found = _remember(self._price_texts, text, (value, to_ticks(value, self.tick_size)))
        return found

    def quantity_from_text(self, text: Any, name: str) -> tuple[Decimal, int | None]:
        """A quantity's Decimal and lots (None off the lot grid); MalformedEntry if it is not a decimal."""
        found = self._quantity_texts.get(text) if type(text) is str else None
        if found is None:
            value = decimal_value(text, name)
            found = _remember(self._quantity_texts, text, (value, to_lots(value, self.lot_size)))
        return found

    def price(self, ticks: int) -> tuple[Decimal, str]:
        """The price `ticks` stands for, and its text."""
        found = self._prices.get(ticks)
        if found is None:
            value = from_ticks(ticks, self.tick_size)
            found = _remember(self._prices, ticks, (value, str(value)))
        return found

    def quantity(self, lots: int) -> tuple[Decimal, str]:
        """The quantity `lots` stands for, and its text."""
        found = self._quantities.get(lots)
        if found is None:
            value = from_lots(lots, self.lot_size)
            found = _remember(self._quantities, lots, (value, str(value)))
        return found


def _remember(table: dict[Key, Value], key: Key, value: Value) -> Value:
    if len(table) >= LIMIT:
        table.clear()
    table[key] = value
    return value
