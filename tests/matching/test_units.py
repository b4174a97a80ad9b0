"""Decimal at the edges, integers inside: conversions are exact or refuse."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching import from_lots, from_quote_units, from_ticks, to_lots, to_quote_units, to_ticks

D = Decimal
unit_sizes = st.builds(
    lambda digits, exponent: D(digits).scaleb(-exponent), st.integers(1, 999), st.integers(-3, 12)
)


def test_it_converts_a_price_on_the_tick_grid() -> None:
    assert to_ticks(D("27123.45"), D("0.01")) == 2_712_345
    assert to_ticks(D("0.0005"), D("0.0005")) == 1
    assert to_ticks(D("100"), D("0.5")) == 200


def test_it_refuses_a_price_off_the_tick_grid() -> None:
    assert to_ticks(D("27123.455"), D("0.01")) is None
    assert to_ticks(D("1.3"), D("0.25")) is None


def test_it_refuses_a_non_positive_or_non_finite_grid_or_amount() -> None:
    assert to_ticks(D("1"), D("0")) is None
    assert to_ticks(D("1"), D("-0.01")) is None
    assert to_lots(D("NaN"), D("1")) is None
    assert to_lots(D("Infinity"), D("1")) is None


def test_it_keeps_digits_the_default_decimal_context_would_round() -> None:
    huge = D("123456789012345678901234567890.12345678")
    assert to_ticks(huge, D("0.00000001")) == 12345678901234567890123456789012345678
    assert from_ticks(12345678901234567890123456789012345678, D("0.00000001")) == huge


def test_it_refuses_floats() -> None:
    with pytest.raises(TypeError):
        to_ticks(0.1, D("0.01"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_lots(3, 0.001)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_lots(1.5, D("1"))  # type: ignore[arg-type]


def test_it_converts_quote_amounts_in_tick_times_lot_units() -> None:
    tick, lot = D("0.01"), D("0.001")
    assert to_quote_units(D("1.23456"), tick, lot) == 123_456
    assert to_quote_units(D("1.234565"), tick, lot) is None
    assert from_quote_units(123_456, tick, lot) == D("1.23456")


@given(st.integers(-(10**30), 10**30), unit_sizes)
def test_ticks_round_trip_exactly(ticks: int, tick_size: Decimal) -> None:
    assert to_ticks(from_ticks(ticks, tick_size), tick_size) == ticks


@given(st.integers(0, 10**30), unit_sizes)
def test_lots_round_trip_exactly(lots: int, lot_size: Decimal) -> None:
    assert to_lots(from_lots(lots, lot_size), lot_size) == lots


@given(st.integers(0, 10**30), unit_sizes, unit_sizes)
def test_quote_units_round_trip_exactly(units: int, tick_size: Decimal, lot_size: Decimal) -> None:
    assert to_quote_units(from_quote_units(units, tick_size, lot_size), tick_size, lot_size) == units


@given(st.integers(1, 10**12), unit_sizes)
def test_a_price_between_two_ticks_is_off_the_grid(ticks: int, tick_size: Decimal) -> None:
    between = from_ticks(ticks, tick_size) + tick_size / 2
    assert to_ticks(between, tick_size) is None
