"""Order rule codes (shared with the accounts stage) and what they tell a trader."""

from __future__ import annotations

from exchange.amounts import amount_text
from exchange.api.errors import BadRequest
from exchange.pipeline.markets import MarketRules


def refusal(code: str, rules: MarketRules | None) -> BadRequest:
    return BadRequest(_message(code, rules), code)


def _message(code: str, rules: MarketRules | None) -> str:
    if rules is None:
        return "unknown market"
    messages = {
        "MARKET_NOT_TRADING": f"{rules.symbol} is not trading (halted or closed)",
        "INVALID_POST_ONLY": "post_only needs a LIMIT order with time_in_force GTC",
        "INVALID_PRICE": "a LIMIT order needs a price; a MARKET order takes none",
        "PRICE_NOT_ON_TICK": f"price must be a multiple of the tick size {amount_text(rules.tick_size)}",
        "INVALID_QUANTITY": "give quantity (or, for a MARKET BUY only, quote_quantity instead)",
        "QUANTITY_NOT_ON_LOT": f"quantity must be a multiple of the lot size {amount_text(rules.lot_size)}",
        "BELOW_MIN_QUANTITY": f"quantity must be at least {amount_text(rules.min_quantity)}",
        "BELOW_MIN_NOTIONAL": f"price times quantity must be at least {amount_text(rules.min_notional)}",
        "NOTIONAL_TOO_LARGE": "price times quantity (or quote_quantity) is too large for this market",
        "QUANTITY_TOO_LARGE": "quantity is too large for this market",
        "INSUFFICIENT_FUNDS": "the available balance cannot cover this order",
        "INVALID_STOP_PRICE": "a STOP_LIMIT or STOP_MARKET order needs a positive stop_price; "
        "others take none",
        "STOP_PRICE_NOT_ON_TICK": "stop_price must be a multiple of the tick size "
        f"{amount_text(rules.tick_size)}",
        "INVALID_EXPIRE_TIME": "time_in_force GTD needs expire_at (Unix ms) on a LIMIT order; "
        "others take none",
        "EXPIRE_TIME_PASSED": "expire_at is not in the future",
        "INVALID_DISPLAY_QUANTITY": "display_quantity needs a GTC or GTD LIMIT order "
        "and at most its quantity",
        "DISPLAY_QUANTITY_NOT_ON_LOT": "display_quantity must be a multiple of the lot size "
        f"{amount_text(rules.lot_size)}",
    }
    return messages.get(code, code.replace("_", " ").lower())
