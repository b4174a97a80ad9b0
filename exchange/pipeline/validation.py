"""The rules an order must meet before funds are held for it."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.markets import MarketRules
from matching import MAX_VALUE, from_quote_units, to_lots, to_ticks

SIDES = ("BUY", "SELL")
TYPES = ("LIMIT", "MARKET", "STOP_LIMIT", "STOP_MARKET")
TIMES_IN_FORCE = ("GTC", "IOC", "FOK", "GTD")
# A stop order is checked as the order it becomes when it triggers; a GTD order as a GTC one.
PLACED_AS = {"STOP_LIMIT": "LIMIT", "STOP_MARKET": "MARKET"}
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
    if tif == "GTD" and order_type != "LIMIT":
        return "INVALID_TIME_IN_FORCE"
    order_type = PLACED_AS.get(order_type, order_type)
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


def extras_problem(
    rules: MarketRules,
    side: str,
    order_type: str,
    tif: str,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    stop_price: Decimal | None,
    expire_at_ms: int | None,
    display_quantity: Decimal | None,
) -> str | None:
    """What a stop, good-till-date or iceberg order must also meet (after ``place_problem``).

    A stop-market buy gives a quote amount: its hold, taken now, may wait for
    days, and a buy by quantity would hold all the buyer's quote (ADR 0013).
    """
    if order_type in PLACED_AS:
        if stop_price is None or stop_price <= 0:
            return "INVALID_STOP_PRICE"
        if not on_grid(stop_price, rules.tick_size):
            return "STOP_PRICE_NOT_ON_TICK"
        if (to_ticks(stop_price, rules.tick_size) or 0) > MAX_VALUE:
            return "INVALID_STOP_PRICE"
        if order_type == "STOP_MARKET" and side == "BUY" and quote_quantity is None:
            return "INVALID_QUANTITY"
    elif stop_price is not None:
        return "INVALID_STOP_PRICE"
    if tif == "GTD":
        if type(expire_at_ms) is not int or expire_at_ms <= 0:
            return "INVALID_EXPIRE_TIME"
    elif expire_at_ms is not None:
        return "INVALID_EXPIRE_TIME"
    if display_quantity is not None:
        if order_type != "LIMIT" or tif not in ("GTC", "GTD") or quantity is None:
            return "INVALID_DISPLAY_QUANTITY"
        if display_quantity <= 0 or display_quantity > quantity:
            return "INVALID_DISPLAY_QUANTITY"
        if not on_grid(display_quantity, rules.lot_size):
            return "DISPLAY_QUANTITY_NOT_ON_LOT"
    return None
