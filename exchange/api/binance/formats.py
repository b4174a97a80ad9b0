"""The exchange's orders, fills and balances in Binance's shapes.

Ids are JSON numbers, as Binance sends them (Python and most clients read
them exactly; JavaScript loses digits above 2^53, as /api/v1's strings do
not). Amounts are the exchange's decimal texts ("0.001"). An order the
pipeline has acknowledged but not yet processed (PENDING_NEW on /api/v1) is
NEW here: it is open, and it will be processed.
"""

from __future__ import annotations

from typing import Any

from exchange.api.binance.symbols import binance_symbol
from exchange.models import Trade

# Self-trade prevention: the exchange's modes by Binance's names, and back.
STP_FROM_BINANCE = {
    "EXPIRE_TAKER": "CANCEL_NEWEST",
    "EXPIRE_MAKER": "CANCEL_OLDEST",
    "EXPIRE_BOTH": "CANCEL_BOTH",
    "NONE": "ALLOW",
}
STP_TO_BINANCE = {ours: theirs for theirs, ours in STP_FROM_BINANCE.items()}
_STATUSES = {"PENDING_NEW": "NEW"}
_TYPES_TO_BINANCE = {"STOP_LIMIT": "STOP_LOSS_LIMIT", "STOP_MARKET": "STOP_LOSS"}


def order_type(payload: dict[str, Any]) -> str:
    if payload["type"] == "LIMIT" and payload.get("post_only"):
        return "LIMIT_MAKER"
    return _TYPES_TO_BINANCE.get(payload["type"], str(payload["type"]))


def order(payload: dict[str, Any]) -> dict[str, Any]:
    """An order as /api/v1 answers it (persisted_payload or command_payload), as Binance's GET /order."""
    executed = payload.get("executed_quantity") or "0"
    # A stop order works once it triggered (Binance's isWorking / workingTime).
    pending_stop = payload.get("stop_price") is not None and payload.get("triggered_at") is None
    working = payload["status"] in ("PENDING_NEW", "NEW", "PARTIALLY_FILLED") and not pending_stop
    return {
        "symbol": binance_symbol(payload["market"]),
        "orderId": int(payload["order_id"]),
        "orderListId": -1,
        "clientOrderId": payload["client_order_id"],
        "price": payload.get("price") or "0",
        "origQty": payload.get("quantity") or "0",
        "executedQty": executed,
        "cummulativeQuoteQty": payload.get("executed_quote") or "0",
        "status": _STATUSES.get(payload["status"], payload["status"]),
        "timeInForce": payload["time_in_force"],
        "type": order_type(payload),
        "side": payload["side"],
        "stopPrice": payload.get("stop_price") or "0",
        "icebergQty": payload.get("display_quantity") or "0",
        "time": payload["created_at"],
        "updateTime": payload["updated_at"],
        "isWorking": working,
        "workingTime": payload["created_at"],
        "origQuoteOrderQty": payload.get("quote_quantity") or "0",
        "selfTradePreventionMode": STP_TO_BINANCE.get(payload["self_trade_prevention"], "NONE"),
    }


def acknowledgement(payload: dict[str, Any]) -> dict[str, Any]:
    """newOrderRespType ACK."""
    return {
        "symbol": binance_symbol(payload["market"]),
        "orderId": int(payload["order_id"]),
        "orderListId": -1,
        "clientOrderId": payload["client_order_id"],
        "transactTime": payload["created_at"],
    }


def result(payload: dict[str, Any]) -> dict[str, Any]:
    """newOrderRespType RESULT: the acknowledgement and the order's state."""
    full = order(payload)
    answer = acknowledgement(payload)
    for name in (
        "price",
        "origQty",
        "executedQty",
        "origQuoteOrderQty",
        "cummulativeQuoteQty",
        "status",
        "timeInForce",
        "type",
        "side",
        "workingTime",
        "selfTradePreventionMode",
    ):
        answer[name] = full[name]
    return answer


def fill(event: dict[str, Any]) -> dict[str, Any]:
    """A private fill event, as an entry of newOrderRespType FULL's `fills`."""
    return {
        "price": event.get("price"),
        "qty": event.get("quantity"),
        "commission": event.get("fee"),
        "commissionAsset": event.get("fee_asset"),
        "tradeId": int(event["trade_id"]),
    }


def my_trade(trade: Trade, user_id: int, amount_text: Any, millis: Any) -> list[dict[str, Any]]:
    """The user's side(s) of one trade, as GET /myTrades lists them (two for a self-trade)."""
    sides = []
    if trade.taker_user_id == user_id:
        sides.append(
            (trade.taker_order_id, trade.taker_side == "BUY", False, trade.taker_fee, trade.taker_fee_asset)
        )
    if trade.maker_user_id == user_id:
        sides.append(
            (trade.maker_order_id, trade.taker_side == "SELL", True, trade.maker_fee, trade.maker_fee_asset)
        )
    return [
        {
            "symbol": binance_symbol(trade.market.symbol),
            "id": trade.id,
            "orderId": order_id,
            "orderListId": -1,
            "price": amount_text(trade.price),
            "qty": amount_text(trade.quantity),
            "quoteQty": amount_text(trade.quote_quantity),
            "commission": amount_text(fee),
            "commissionAsset": fee_asset.code,
            "time": millis(trade.executed_at),
            "isBuyer": is_buyer,
            "isMaker": is_maker,
            "isBestMatch": True,
        }
        for order_id, is_buyer, is_maker, fee, fee_asset in sides
    ]
