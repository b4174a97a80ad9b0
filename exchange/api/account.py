"""Account endpoints: your fills and balances (as persisted by the workers)."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router

from exchange.api.account_schemas import BalanceOut, FillPage
from exchange.api.auth import READ, Principal, auth_for
from exchange.api.decimals import amount_text
from exchange.api.errors import error_responses
from exchange.api.id_texts import ID_EXAMPLE, ID_PARAMETER_PATTERN, id_value
from exchange.api.market_rules import of_market
from exchange.api.order_lookup import millis
from exchange.api.order_schemas import MarketSymbol
from exchange.api.user_trades import trades_of
from exchange.models import Balance, Trade
from exchange.replica import reader

router = Router(tags=["account"])

_OPPOSITE = {"BUY": "SELL", "SELL": "BUY"}


def _user_id(request: HttpRequest) -> int:
    principal = request.auth  # type: ignore[attr-defined]
    assert isinstance(principal, Principal)
    return principal.user_id


@router.get(
    "/fills",
    auth=auth_for(READ),
    response={200: FillPage, **error_responses(400, 401, 403, 429, 503)},
    summary="Your fills, newest first",
    description="A trade between two of your own orders (self-trade prevention ALLOW) gives two fills.",
)
def list_fills(
    request: HttpRequest,
    market: Annotated[MarketSymbol | None, Query()] = None,
    order_id: Annotated[str | None, Query(pattern=ID_PARAMETER_PATTERN, examples=[ID_EXAMPLE])] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    user_id = _user_id(request)
    only_order = None if order_id is None else id_value(order_id, "order_id")
    trades = of_market(Trade.objects.using(reader()).all(), market)
    if only_order is not None:
        trades = trades.filter(Q(maker_order_id=only_order) | Q(taker_order_id=only_order))
    if cursor is not None:
        trades = trades.filter(id__lt=int(cursor))
    page = trades_of(user_id, trades, limit)
    items = [fill for trade in page for fill in _fills_of(trade, user_id, only_order)]
    return {"items": items, "next_cursor": str(page[-1].id) if len(page) == limit else None}


def _fills_of(trade: Trade, user_id: int, order_id: int | None) -> list[dict[str, Any]]:
    fills = []
    sides = (
        (
            "TAKER",
            trade.taker_user_id,
            trade.taker_order_id,
            trade.taker_side,
            trade.taker_fee,
            trade.taker_fee_asset,
        ),
        (
            "MAKER",
            trade.maker_user_id,
            trade.maker_order_id,
            _OPPOSITE[trade.taker_side],
            trade.maker_fee,
            trade.maker_fee_asset,
        ),
    )
    for liquidity, owner, own_order, side, fee, fee_asset in sides:
        if owner != user_id or (order_id is not None and own_order != order_id):
            continue
        fills.append(
            {
                "trade_id": str(trade.id),
                "order_id": str(own_order),
                "market": trade.market.symbol,
                "side": side,
                "liquidity": liquidity,
                "price": amount_text(trade.price),
                "quantity": amount_text(trade.quantity),
                "quote_quantity": amount_text(trade.quote_quantity),
                "fee": amount_text(fee),
                "fee_asset": fee_asset.code,
                "executed_at": millis(trade.executed_at),
            }
        )
    return fills


@router.get(
    "/balances",
    auth=auth_for(READ),
    response={200: list[BalanceOut], **error_responses(401, 403, 429, 503)},
    summary="Your balances",
    description="As persisted by the accounts stage, a few milliseconds behind its memory.",
)
def list_balances(request: HttpRequest) -> list[dict[str, Any]]:
    balances = (
        Balance.objects.select_related("asset").filter(user_id=_user_id(request)).order_by("asset__code")
    )
    return [
        {
            "asset": balance.asset.code,
            "available": amount_text(balance.available),
            "locked": amount_text(balance.locked),
            "total": amount_text(balance.total),
        }
        for balance in balances
    ]
