"""Exact conversion between ``Decimal`` amounts and the engine's integers.

Only the edges (API, ORM) use these; inside the engine prices are ticks and
sizes are lots. Everything is Decimal arithmetic in a context wide enough to
be exact: a float, or the default 28-digit context, could round.
"""

from __future__ import annotations

from decimal import Context, Decimal, DecimalException, Inexact, InvalidOperation, localcontext

# Wide enough for any stored amount (36 digits) over any unit, and anything
# inexact raises instead of rounding: the fast path is exact or not taken.
# A method of a fixed context is ten times cheaper than a local context.
_WIDE = Context(prec=60, traps=[InvalidOperation, Inexact])


def to_ticks(price: Decimal, tick_size: Decimal) -> int | None:
    """Price in ticks, or None when ``price`` is not a whole number of ticks."""
    return _to_units(price, tick_size)


def to_lots(quantity: Decimal, lot_size: Decimal) -> int | None:
    """Quantity in lots, or None when ``quantity`` is not a whole number of lots."""
    return _to_units(quantity, lot_size)


def from_ticks(ticks: int, tick_size: Decimal) -> Decimal:
    """The price ``ticks`` stands for."""
    return _times(ticks, tick_size)


def from_lots(lots: int, lot_size: Decimal) -> Decimal:
    """The quantity ``lots`` stands for."""
    return _times(lots, lot_size)


def to_quote_units(amount: Decimal, tick_size: Decimal, lot_size: Decimal) -> int | None:
    """A quote amount in ``tick * lot`` units (what a market buy by quote carries).

    None when ``amount`` is not a whole number of such units.
    """
    _require_decimal(amount, tick_size, lot_size)
    if not (_is_unit(tick_size) and _is_unit(lot_size)):
        return None
    return _to_units(amount, _unit_notional(tick_size, lot_size))


def from_quote_units(units: int, tick_size: Decimal, lot_size: Decimal) -> Decimal:
    """The quote-currency amount of ``units`` in ``tick * lot`` units."""
    return _times(units, _unit_notional(tick_size, lot_size))


def _to_units(amount: Decimal, unit: Decimal) -> int | None:
    _require_decimal(amount, unit)
    if not _is_unit(unit) or not amount.is_finite():
        return None
    try:
        quotient, remainder = _WIDE.divmod(amount, unit)
    except DecimalException:
        return _to_units_exactly(amount, unit)  # a quotient of more than 60 digits
    if remainder != 0:
        return None
    return int(quotient)


def _to_units_exactly(amount: Decimal, unit: Decimal) -> int | None:
    # Enough digits for the whole integer quotient, so divmod is exact or raises.
    precision = (
        len(amount.as_tuple().digits)
        + len(unit.as_tuple().digits)
        + abs(amount.adjusted())
        + abs(unit.adjusted())
        + 2
    )
    with localcontext(Context(prec=precision)):
        try:
            quotient, remainder = divmod(amount, unit)
        except InvalidOperation:
            return None
    if remainder != 0:
        return None
    return int(quotient)


def _times(count: int, unit: Decimal) -> Decimal:
    _require_decimal(unit)
    if type(count) is not int:
        raise TypeError(f"expected an int count, got {type(count).__name__}")
    try:
        return _WIDE.multiply(count, unit)
    except DecimalException:
        pass  # more than 60 digits
    digits = len(str(abs(count))) + len(unit.as_tuple().digits) + 1
    with localcontext(Context(prec=digits)):
        return count * unit


def _unit_notional(tick_size: Decimal, lot_size: Decimal) -> Decimal:
    _require_decimal(tick_size, lot_size)
    digits = len(tick_size.as_tuple().digits) + len(lot_size.as_tuple().digits) + 1
    with localcontext(Context(prec=digits)):
        return tick_size * lot_size


def _require_decimal(*values: object) -> None:
    for value in values:
        if not isinstance(value, Decimal):
            # A float has already lost the exact value; refuse it rather than guess.
            raise TypeError(f"expected Decimal, got {type(value).__name__}")


def _is_unit(unit: Decimal) -> bool:
    return unit.is_finite() and unit > 0
