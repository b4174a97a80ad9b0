"""Cancel, cancel-all and amend: checked here, carried out by the accounts stage.

Each answers as soon as its command is in the user's accounts stream, behind
any place command of the same order, so a cancel never overtakes its place.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import redis

from exchange.api.errors import BadRequest, Conflict, Forbidden, Unavailable
from exchange.api.market_rules import market_rules
from exchange.api.order_lookup import FoundOrder
from exchange.api.order_schemas import AmendOrderIn
from exchange.api.placing import MAX_NOTIONAL, optional_amount, parse_body
from exchange.api.redis_clients import api_redis
from exchange.api.rule_messages import refusal
from exchange.pipeline.order_entry import AccountFrozen, OrderEntry
from exchange.pipeline.validation import place_problem


def _send(command: Callable[[OrderEntry], object]) -> None:
    try:
        command(OrderEntry(api_redis()))
    except redis.RedisError as exc:
        raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
    except AccountFrozen:
        raise Forbidden(
            "the account is frozen by the exchange's operators; orders can be cancelled, not amended",
            "ACCOUNT_FROZEN",
        ) from None


def _require_open(order: FoundOrder) -> None:
    if not order.is_open:
        raise Conflict(f"the order is already {order.payload['status']}", "ORDER_NOT_OPEN")


def _accepted(order: FoundOrder, status: str) -> dict[str, Any]:
    payload = order.payload
    return {
        "order_id": str(order.order_id),
        "client_order_id": payload["client_order_id"],
        "market": payload["market"],
        "status": status,
    }


def cancel_order(user_id: int, order: FoundOrder) -> dict[str, Any]:
    _require_open(order)
    _send(lambda entry: entry.cancel(user_id, order.order_id))
    return _accepted(order, "PENDING_CANCEL")


def cancel_all(user_id: int, symbol: str) -> dict[str, Any]:
    if market_rules.get(symbol) is None:
        raise refusal("UNKNOWN_MARKET", None)
    _send(lambda entry: entry.cancel_all(user_id, symbol))
    return {"market": symbol, "status": "PENDING_CANCEL"}


def amend_order(user_id: int, order: FoundOrder, body: bytes) -> dict[str, Any]:
    amend = parse_body(AmendOrderIn, body)
    if amend.quantity is None and amend.price is None:
        raise BadRequest("give a new quantity, price or both", "NOTHING_TO_AMEND")
    _require_open(order)
    current = order.payload
    if current["type"] != "LIMIT":
        raise Conflict("only LIMIT orders can be amended", "NOT_AMENDABLE")
    new_quantity = optional_amount(amend.quantity)
    new_price = optional_amount(amend.price)
    quantity = new_quantity or Decimal(current["quantity"])
    price = new_price or Decimal(current["price"])
    rules = market_rules.get(current["market"])
    problem = place_problem(
        rules,
        current["side"],
        "LIMIT",
        current["time_in_force"],
        price,
        quantity,
        None,
        current["post_only"],
        current["self_trade_prevention"],
    )
    if problem is None and price * quantity >= MAX_NOTIONAL:
        problem = "NOTIONAL_TOO_LARGE"
    if problem is not None:
        raise refusal(problem, rules)
    if new_quantity is not None and new_quantity <= Decimal(current["executed_quantity"]):
        raise BadRequest("quantity must exceed what is already executed", "QUANTITY_BELOW_EXECUTED")
    _send(lambda entry: entry.amend(user_id, order.order_id, new_quantity, new_price))
    return _accepted(order, "PENDING_AMEND")
