"""A market's conversions, made once per distinct value, answer what the exact conversions answer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.pipeline import grid as grid_module
from exchange.pipeline.grid import MarketGrid
from exchange.pipeline.messages import MalformedEntry
from matching import from_ticks


def test_texts_and_integers_convert_as_the_engine_units_do_and_again_from_the_table() -> None:
    grid = MarketGrid(Decimal("0.01"), Decimal("0.0001"))
    for _ in range(2):  # the second time from the tables
        assert grid.price_from_text("101.25", "px") == (Decimal("101.25"), 10125)
        assert grid.price_from_text("101.255", "px") == (Decimal("101.255"), None)  # off the tick grid
        assert grid.quantity_from_text("0.37", "qty") == (Decimal("0.37"), 3700)
        assert grid.price(10125) == (Decimal("101.25"), "101.25")
        assert grid.quantity(3700) == (Decimal("0.3700"), "0.3700")


@pytest.mark.parametrize("bad", ["NaN", "x", "", 1.5, 7, None, ["1"]])
def test_a_text_that_is_no_finite_decimal_is_malformed(bad: object) -> None:
    grid = MarketGrid(Decimal("0.01"), Decimal("0.0001"))
    with pytest.raises(MalformedEntry, match="px"):
        grid.price_from_text(bad, "px")


def test_a_full_table_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid_module, "LIMIT", 3)
    grid = MarketGrid(Decimal("0.01"), Decimal("0.0001"))
    for ticks in range(1, 11):
        exact = from_ticks(ticks, Decimal("0.01"))
        assert grid.price(ticks) == (exact, str(exact))
    assert len(grid.prices._amounts) <= 3
