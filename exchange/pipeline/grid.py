"""One market's conversions between amounts and the engine's integers, each made once.

A matching shard meets the same few prices and sizes over and over (a book
has a few hundred levels; traders reuse their sizes), and each conversion
is exact Decimal arithmetic with its checks: 0.3-0.5 us. So each distinct
text or integer is converted once and looked up after that; a table that
grows past its bound starts afresh, which costs a conversion, never a
wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from exchange.pipeline.messages import decimal_value
from matching import from_lots, from_ticks, to_lots, to_ticks

LIMIT = 50_000  # entries per table

Key = TypeVar("Key")
Value = TypeVar("Value")


class UnitTable:
    """One unit's conversions (a market's tick, or its lot): texts to units, units to amounts."""

    def __init__(
        self,
        step: Decimal,
        to_units: Callable[[Decimal, Decimal], int | None],
        from_units: Callable[[int, Decimal], Decimal],
    ) -> None:
        self.step = step
        self._to_units = to_units
        self._from_units = from_units
        self._texts: dict[str, tuple[Decimal, int | None]] = {}
        self._amounts: dict[int, tuple[Decimal, str]] = {}

    def from_text(self, text: Any, name: str) -> tuple[Decimal, int | None]:
        """A text's Decimal and units (None off the grid); MalformedEntry, naming it, if not a decimal."""
        found = self._texts.get(text) if type(text) is str else None
        if found is None:
            value = decimal_value(text, name)
            found = _remember(self._texts, text, (value, self._to_units(value, self.step)))
        return found

    def amount(self, units: int) -> tuple[Decimal, str]:
        """The amount `units` stand for, and its text."""
        found = self._amounts.get(units)
        if found is None:
            value = self._from_units(units, self.step)
            found = _remember(self._amounts, units, (value, str(value)))
        return found


class MarketGrid:
    """A market's prices in ticks and quantities in lots."""

    def __init__(self, tick_size: Decimal, lot_size: Decimal) -> None:
        self.prices = UnitTable(tick_size, to_ticks, from_ticks)
        self.quantities = UnitTable(lot_size, to_lots, from_lots)
        # The tables' own methods under the names callers use, without a call in between.
        self.price_from_text = self.prices.from_text
        self.quantity_from_text = self.quantities.from_text
        self.price = self.prices.amount
        self.quantity = self.quantities.amount


def _remember(table: dict[Key, Value], key: Key, value: Value) -> Value:
    if len(table) >= LIMIT:
        table.clear()
    table[key] = value
    return value
