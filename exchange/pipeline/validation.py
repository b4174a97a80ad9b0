"""The rules an order must meet before funds are held for it."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.markets import MarketRules
from matching import MAX_VALUE, from_quote_units, to_lots, to_ticks

SIDES = ("BUY", "SELL")
TYPES = ("LIMIT", "MARKET")
TIMES_IN_FORCE = ("GTC", "IOC", "FOK")
SELF_TRADE_MODES = ("CANCEL_NEWEST", "CANCEL_OLDEST", "CANCEL_BOTH", "ALLOW")


def on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def place_problem(
    rules: MarketRules | None,
    side: str,
    order_type: str,
    tif: str,
    price: Decimal | None,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    post_only: bool,
    stp: str,
) -> str | None:
    """The reason code an order is rejected for, or None when it may proceed."""
    if rules is None:
        return "UNKNOWN_MARKET"
    if not rules.trading:
        return "MARKET_NOT_TRADING"
    if side not in SIDES:
        return "INVALID_SIDE"
    if order_type not in TYPES:
        return "INVALID_TYPE"
    if tif not in TIMES_IN_FORCE:
        return "INVALID_TIME_IN_FORCE"
    if stp not in SELF_TRADE_MODES:
        return "INVALID_SELF_TRADE_PREVENTION"
    if post_only and (order_type != "LIMIT" or tif != "GTC"):
        return "INVALID_POST_ONLY"
    if order_type == "LIMIT":
        if price is None or price <= 0:
            return "INVALID_PRICE"
        if not on_grid(price, rules.tick_size):
            return "PRICE_NOT_ON_TICK"
        if quote_quantity is not None:
            return "INVALID_QUANTITY"
    elif price is not None:
        return "INVALID_PRICE"
    if quantity is None:
        if order_type == "MARKET" and side == "BUY" and quote_quantity is not None:
            if quote_quantity <= 0:
                return "INVALID_QUANTITY"
            return engine_size_problem(rules, None, None, quote_quantity)
        return "INVALID_QUANTITY"
    if quote_quantity is not None or quantity <= 0:
        return "INVALID_QUANTITY"
    if not on_grid(quantity, rules.lot_size):
        return "QUANTITY_NOT_ON_LOT"
    if quantity < rules.min_quantity:
        return "BELOW_MIN_QUANTITY"
    if price is not None and price * quantity < rules.min_notional:
        return "BELOW_MIN_NOTIONAL"
    return engine_size_problem(rules, price, quantity, None)


def engine_size_problem(
    rules: MarketRules, price: Decimal | None, quantity: Decimal | None, quote_quantity: Decimal | None
) -> str | None:
    """Sizes beyond the engine's 64-bit integers, counted in this market's ticks and lots (ADR 0002).

    ``price`` and ``quantity`` are on the market's grid.
    """
    if quote_quantity is not None:
        return (
            "NOTIONAL_TOO_LARGE"
            if quote_quantity > from_quote_units(MAX_VALUE, rules.tick_size, rules.lot_size)
            else None
        )
    lots = to_lots(quantity, rules.lot_size) if quantity is not None else None
    if lots is not None and lots > MAX_VALUE:
        return "QUANTITY_TOO_LARGE"
    ticks = to_ticks(price, rules.tick_size) if price is not None else None
    if lots is not None and ticks is not None and ticks * lots > MAX_VALUE:
        return "NOTIONAL_TOO_LARGE"
    return None
