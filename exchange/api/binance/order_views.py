"""Binance's signed endpoints: order, order/test, openOrders, allOrders, myTrades, account.

Each runs the exchange's own order flow (exchange.api.placing,
order_commands, order_lookup): Binance's parameters are read into the same
PlaceOrderIn that /api/v1's JSON becomes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pydantic
import redis
from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from exchange.amounts import amount_text
from exchange.api.auth import READ, TRADE, Principal
from exchange.api.binance import errors, formats
from exchange.api.binance.auth import authenticate
from exchange.api.binance.errors import BinanceError
from exchange.api.binance.params import Params
from exchange.api.binance.symbols import rules_of
from exchange.api.engine_results import ResultWaiter
from exchange.api.errors import Unavailable, from_validation_errors
from exchange.api.market_rules import market_rules
from exchange.api.order_commands import cancel_all, cancel_order
from exchange.api.order_lookup import (
    FoundOrder,
    find_order,
    find_order_by_client_id,
    millis,
    persisted_payload,
)
from exchange.api.order_schemas import PlaceOrderIn
from exchange.api.placing import check_order, place_parsed
from exchange.api.redis_clients import api_redis
from exchange.api.user_trades import trades_of
from exchange.models import OPEN_STATUSES, Balance, Order, Trade
from exchange.replica import reader

Row = TypeVar("Row", Order, Trade)
FINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})
_TYPES = {
    "LIMIT": ("LIMIT", False),
    "LIMIT_MAKER": ("LIMIT", True),
    "MARKET": ("MARKET", False),
    # Our stops trigger a BUY at or above the stop price and a SELL at or below it: Binance's
    # STOP_LOSS kinds. TAKE_PROFIT (the other direction) is not offered (ADR 0013).
    "STOP_LOSS_LIMIT": ("STOP_LIMIT", False),
    "STOP_LOSS": ("STOP_MARKET", False),
}
_TAKES_TIME_IN_FORCE = ("LIMIT", "STOP_LOSS_LIMIT")
_RESPONSE_TYPES = ("ACK", "RESULT", "FULL")


# ------------------------------------------------------------------ placing


def _order_in(params: Params) -> tuple[PlaceOrderIn, str]:
    """Binance's order parameters as the exchange's order, and the answer asked for."""
    rules = rules_of(params.required("symbol"))
    side = params.required("side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(errors.INVALID_SIDE, "Invalid side.")
    kind = params.required("type")
    if kind not in _TYPES:
        raise BinanceError(
            errors.INVALID_ORDER_TYPE, f"Invalid orderType; this exchange takes {', '.join(_TYPES)}."
        )
    order_type, post_only = _TYPES[kind]
    time_in_force = params.text("timeInForce")
    if kind in _TAKES_TIME_IN_FORCE and time_in_force is None:
        raise errors.mandatory("timeInForce")
    if kind not in _TAKES_TIME_IN_FORCE and time_in_force is not None:
        raise BinanceError(errors.PARAM_NOT_REQUIRED, "Parameter 'timeInForce' sent when not required.")
    if time_in_force is not None and time_in_force not in ("GTC", "IOC", "FOK"):
        raise BinanceError(errors.INVALID_TIME_IN_FORCE, "Invalid timeInForce.")
    quantity = params.text("quantity")
    quote_quantity = params.text("quoteOrderQty")
    price = params.text("price")
    stop_price = params.text("stopPrice")
    if kind.startswith("STOP_LOSS") and stop_price is None:
        raise errors.mandatory("stopPrice")
    iceberg_quantity = params.text("icebergQty")
    stp = params.text("selfTradePreventionMode")
    if stp is not None and stp not in formats.STP_FROM_BINANCE:
        raise errors.illegal("selfTradePreventionMode", stp)
    response_type = params.text("newOrderRespType") or "FULL"
    if response_type not in _RESPONSE_TYPES:
        raise errors.illegal("newOrderRespType", response_type)
    body: dict[str, Any] = {
        "market": rules.symbol,
        "side": side,
        "type": order_type,
        # A MARKET order runs once against the book: IOC.
        "time_in_force": time_in_force or ("GTC" if order_type in ("LIMIT", "STOP_LIMIT") else "IOC"),
        "post_only": post_only,
        "response_type": "ACK" if response_type == "ACK" else "RESULT",
    }
    for name, value in (
        ("price", price),
        ("quantity", quantity),
        ("quote_quantity", quote_quantity),
        ("stop_price", stop_price),
        ("display_quantity", iceberg_quantity),
    ):
        if value is not None:
            body[name] = value
    client_order_id = params.text("newClientOrderId")
    if client_order_id is not None:
        body["client_order_id"] = client_order_id
    if stp is not None:
        body["self_trade_prevention"] = formats.STP_FROM_BINANCE[stp]
    params.refuse_unread()
    try:
        return PlaceOrderIn.model_validate(body), response_type
    except pydantic.ValidationError as exc:
        problem = from_validation_errors(exc.errors(include_url=False))
        if problem.message.startswith("client_order_id"):
            raise BinanceError(
                errors.ILLEGAL_CHARS,
                "Illegal characters found in parameter 'newClientOrderId'; "
                "legal range is '^[A-Za-z0-9_-]{1,36}$'.",
            ) from None
        raise errors.from_api_error(problem) from None


def new_order(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, TRADE)
    order, response_type = _order_in(params)
    answer = place_parsed(principal, order)
    if response_type == "ACK":
        return formats.acknowledgement(answer.payload)
    result = formats.result(answer.payload)
    if response_type == "FULL":
        result["fills"] = [formats.fill(event) for event in answer.fills]
    return result


def test_order(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, TRADE)
    compute_rates = params.text("computeCommissionRates") == "true"
    order, _ = _order_in(params)
    check_order(principal, order)
    if not compute_rates:
        return {}
    rules = market_rules.get(order.market)
    assert rules is not None
    rates = {
        "maker": amount_text(rules.maker_fee_rate),
        "taker": amount_text(rules.taker_fee_rate),
        "buyer": "0",
        "seller": "0",
    }
    return {
        "standardCommissionForOrder": rates,
        "taxCommissionForOrder": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": None,
            "discount": "0",
        },
    }


# --------------------------------------------------------- one order: find, cancel


def _found(principal: Principal, params: Params) -> FoundOrder:
    rules = rules_of(params.required("symbol"))
    order_id = params.integer("orderId", low=1)
    client_order_id = params.text("origClientOrderId")
    if order_id is None and client_order_id is None:
        raise BinanceError(
            errors.MANDATORY_PARAM,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    if order_id is not None:
        found = find_order(principal.user_id, order_id)
    else:
        assert client_order_id is not None
        found = find_order_by_client_id(principal.user_id, client_order_id)
    if found.payload["market"] != rules.symbol:
        raise BinanceError(errors.NO_SUCH_ORDER, "Order does not exist.")
    return found


def get_order(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, READ)
    found = _found(principal, params)
    params.refuse_unread()
    return formats.order(found.payload)


def delete_order(request: HttpRequest, params: Params) -> Any:
    """Cancel, then wait up to API_RESULT_WAIT_MS for the engine to end the order, as Binance answers."""
    principal = authenticate(request, params, TRADE)
    found = _found(principal, params)
    params.text("newClientOrderId")  # Binance's id for the cancel itself: the exchange has none to give
    params.refuse_unread()
    waiter = ResultWaiter(api_redis(), principal.user_id)
    update: dict[str, Any] | None = None
    try:
        try:
            waiter.subscribe()
        except redis.RedisError as exc:
            raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
        cancel_order(principal.user_id, found)
        deadline = time.monotonic() + settings.API_RESULT_WAIT_MS / 1000
        while (remaining := deadline - time.monotonic()) > 0:
            update = waiter.wait_for(found.order_id, remaining) or update
            if update is None or update.get("status") in FINAL:
                break
    finally:
        waiter.close()
    payload = dict(found.payload)
    if update is not None:
        payload["status"] = update["status"]
        for name in ("executed_quantity", "executed_quote"):
            # The engine writes amounts at the market's scale ("0.00600"): the one text rule here too.
            payload[name] = amount_text(Decimal(str(update.get(name) or payload[name])))
    else:
        payload["status"] = "PENDING_CANCEL"
    answer = formats.order(payload)
    answer["origClientOrderId"] = answer["clientOrderId"]
    answer["transactTime"] = int(time.time() * 1000)
    for name in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking", "workingTime"):
        answer.pop(name, None)
    return answer


# ------------------------------------------------------------------ lists


def _orders(principal: Principal) -> QuerySet[Order]:
    return Order.objects.using(reader()).select_related("market").filter(user_id=principal.user_id)


def open_orders(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, READ)
    symbol = params.text("symbol")
    params.refuse_unread()
    orders = _orders(principal).filter(status__in=OPEN_STATUSES)
    if symbol is not None:
        orders = orders.filter(market_id=rules_of(symbol).market_id)
    return [formats.order(persisted_payload(order)) for order in orders.order_by("id")[:1000]]


def cancel_open_orders(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, TRADE)
    rules = rules_of(params.required("symbol"))
    params.refuse_unread()
    open_now = list(
        _orders(principal).filter(status__in=OPEN_STATUSES, market_id=rules.market_id).order_by("id")
    )
    cancel_all(principal.user_id, rules.symbol)
    answers = []
    for order in open_now:
        answer = formats.order({**persisted_payload(order), "status": "PENDING_CANCEL"})
        answer["origClientOrderId"] = answer["clientOrderId"]
        answers.append(answer)
    return answers


def _moment(millis_value: int) -> datetime:
    return datetime.fromtimestamp(millis_value / 1000, tz=UTC)


def _page(
    rows: QuerySet[Row],
    time_field: str,
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
    read: Callable[[QuerySet[Row], int, tuple[str, ...]], list[Row]] | None = None,
) -> list[Row]:
    """Binance's paging of a list: from an id or a start time onwards, else the newest; oldest first.

    Rows bounded by time are read in time order, the id breaking ties, from an
    index that leads with the time within the user and market (ADR 0019): in
    id order MariaDB would walk the user's history up to the first row in the
    window. `read(rows, limit, order_by)` takes the first `limit` rows in that
    order; by default one ordered query.
    """
    if from_id is not None:
        rows = rows.filter(id__gte=from_id)
    if start is not None:
        rows = rows.filter(**{f"{time_field}__gte": _moment(start)})
    if end is not None:
        rows = rows.filter(**{f"{time_field}__lte": _moment(end)})
    newest = from_id is None and start is None
    by_time = from_id is None and (start is not None or end is not None)
    fields = (time_field, "id") if by_time else ("id",)
    order_by = tuple(f"-{field}" for field in fields) if newest else fields
    picked = (read or _first_rows)(rows, limit, order_by)
    return picked[::-1] if newest else picked


def _first_rows(rows: QuerySet[Row], limit: int, order_by: tuple[str, ...]) -> list[Row]:
    return list(rows.order_by(*order_by)[:limit])


def all_orders(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, READ)
    rules = rules_of(params.required("symbol"))
    from_id = params.integer("orderId", low=1)
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.integer("limit", 500, low=1, high=1000)
    assert limit is not None  # it has a default
    params.refuse_unread()
    orders = _orders(principal).filter(market_id=rules.market_id)
    picked = _page(orders, "created_at", from_id, start, end, limit)
    return [formats.order(persisted_payload(order)) for order in picked]


def my_trades(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, READ)
    rules = rules_of(params.required("symbol"))
    order_id = params.integer("orderId", low=1)
    from_id = params.integer("fromId", low=0)
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.integer("limit", 500, low=1, high=1000)
    assert limit is not None  # it has a default
    params.refuse_unread()
    user_id = principal.user_id
    trades = Trade.objects.using(reader()).filter(market_id=rules.market_id)
    if order_id is not None:
        trades = trades.filter(Q(maker_order_id=order_id) | Q(taker_order_id=order_id))
    # Each side of the user's trades is read from its own index (exchange/api/user_trades.py).
    picked = _page(
        trades,
        "executed_at",
        from_id,
        start,
        end,
        limit,
        read=lambda rows, count, order_by: trades_of(user_id, rows, count, order_by),
    )
    rows = [row for trade in picked for row in formats.my_trade(trade, user_id, amount_text, millis)]
    if order_id is not None:
        rows = [row for row in rows if row["orderId"] == order_id]
    return rows


def account(request: HttpRequest, params: Params) -> Any:
    principal = authenticate(request, params, READ)
    omit_zero = params.text("omitZeroBalances") == "true"
    params.refuse_unread()
    balances = (
        Balance.objects.select_related("asset").filter(user_id=principal.user_id).order_by("asset__code")
    )
    rules = market_rules.all()
    maker = max((market.maker_fee_rate for market in rules), default=Decimal(0))
    taker = max((market.taker_fee_rate for market in rules), default=Decimal(0))
    return {
        # Binance's integer commissions are in hundredths of a percent; the rates are exact below.
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": amount_text(maker) if maker else "0",
            "taker": amount_text(taker) if taker else "0",
            "buyer": "0",
            "seller": "0",
        },
        "canTrade": TRADE in principal.scopes,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": int(time.time() * 1000),
        "accountType": "SPOT",
        "balances": [
            {
                "asset": balance.asset.code,
                "free": amount_text(balance.available),
                "locked": amount_text(balance.locked),
            }
            for balance in balances
            if not (omit_zero and not balance.available and not balance.locked)
        ],
        "permissions": ["SPOT"],
        "uid": principal.user_id,
    }
