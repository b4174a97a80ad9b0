"""The optional up-front funds check (API_FUNDS_PRECHECK).

The accounts stage holds funds and is the authority: an order it cannot fund
ends REJECTED with reason INSUFFICIENT_FUNDS. This check only spares the
stream an order that the persisted balance already shows cannot be funded;
it costs one database read per order, which is why it is off by default.
"""

from __future__ import annotations

from decimal import Decimal

from exchange.api.rule_messages import refusal
from exchange.models import Balance
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.order_entry import PlaceRequest


def required_funds(request: PlaceRequest, rules: MarketRules) -> tuple[int, Decimal] | None:
    """(asset id, amount) the order needs at least, or None when it cannot be known up front."""
    if request.side == "SELL":
        return (rules.base_asset_id, request.quantity) if request.quantity is not None else None
    if request.quote_quantity is not None:
        return rules.quote_asset_id, request.quote_quantity
    if request.price is not None and request.quantity is not None:
        return rules.quote_asset_id, request.price * request.quantity
    return None  # a market buy by quantity: its cost depends on the book


def check_funds(request: PlaceRequest, rules: MarketRules) -> None:
    need = required_funds(request, rules)
    if need is None:
        return
    asset_id, amount = need
    available = (
        Balance.objects.filter(user_id=request.user_id, asset_id=asset_id)
        .values_list("available", flat=True)
        .first()
    )
    if available is None or available < amount:
        raise refusal("INSUFFICIENT_FUNDS", rules)
