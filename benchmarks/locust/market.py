"""Where the load test trades: a market's grid and a mid price that drifts as a real one does."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Grid:
    """A market's rules as GET /api/v1/markets gives them."""

    symbol: str
    tick: Decimal
    lot: Decimal
    min_quantity: Decimal
    min_notional: Decimal

    @classmethod
    def from_api(cls, market: dict[str, Any]) -> Grid:
        return cls(
            market["symbol"],
            Decimal(market["tick_size"]),
            Decimal(market["lot_size"]),
            Decimal(market["min_quantity"]),
            Decimal(market["min_notional"]),
        )

    def price(self, value: Decimal, rounding: str = ROUND_DOWN) -> str:
        ticks = (value / self.tick).to_integral_value(rounding)
        return _text(max(ticks, Decimal(1)) * self.tick)

    def quantity(self, price: Decimal, notional_multiple: float) -> str:
        """A size worth `notional_multiple` times the market's minimum notional (at least its minimum size)."""
        floor = max(self.min_notional, Decimal(1)) * Decimal(str(notional_multiple))
        lots = (floor / price / self.lot).to_integral_value(ROUND_UP)
        return _text(max(lots * self.lot, self.min_quantity))


class MovingMid:
    """A random walk around a starting price: makers quote around it, takers cross it.

    Each process has its own walk; with steps of 5 basis points and a pull
    back towards the start, quotes stay within a few per cent of it.
    """

    def __init__(self, start: Decimal, seed: int | None = None) -> None:
        self.start = start
        self.value = start
        self._random = random.Random(seed)

    def step(self) -> Decimal:
        drift = self._random.gauss(0, 0.0005) - 0.01 * float((self.value - self.start) / self.start)
        self.value = self.value * Decimal(str(1 + drift))
        return self.value

    def offset(self, basis_points: float) -> Decimal:
        return self.value * Decimal(str(1 + basis_points / 10_000))


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
