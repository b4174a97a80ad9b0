"""Order rule codes (shared with the accounts stage) and what they tell a trader."""

from __future__ import annotations

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
        "PRICE_NOT_ON_TICK": f"price must be a multiple of the tick size {rules.tick_size}",
        "INVALID_QUANTITY": "give quantity (or, for a MARKET BUY only, quote_quantity instead)",
        "QUANTITY_NOT_ON_LOT": f"quantity must be a multiple of the lot size {rules.lot_size}",
        "BELOW_MIN_QUANTITY": f"quantity must be at least {rules.min_quantity.normalize():f}",
        "BELOW_MIN_NOTIONAL": f"price times quantity must be at least {rules.min_notional.normalize():f}",
        "NOTIONAL_TOO_LARGE": "price times quantity is too large",
        "INSUFFICIENT_FUNDS": "the available balance cannot cover this order",
    }
    return messages.get(code, code.replace("_", " ").lower())
