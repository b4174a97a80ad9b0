"""Order endpoints: place, look up, list, cancel, cancel-all, amend."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from exchange.api.auth import READ, TRADE, Principal, auth_for
from exchange.api.errors import error_responses
from exchange.api.id_texts import ID_EXAMPLE, ID_PARAMETER_PATTERN, id_value
from exchange.api.market_rules import of_market
from exchange.api.order_commands import amend_order, cancel_all, cancel_order
from exchange.api.order_lookup import find_order, find_order_by_client_id, persisted_payload
from exchange.api.order_schemas import (
    CLIENT_ORDER_ID_PATTERN,
    AmendOrderIn,
    CancelAllOut,
    MarketSymbol,
    OrderCommandOut,
    OrderOut,
    OrderPage,
    PersistedStatusName,
    PlacedOrderOut,
    PlaceOrderIn,
)
from exchange.api.placing import place_order
from exchange.models import OPEN_STATUSES, Order
from exchange.replica import reader

router = Router(tags=["orders"])

OrderId = Annotated[
    str,
    Path(
        pattern=ID_PARAMETER_PATTERN,
        examples=[ID_EXAMPLE],
        description='The order id the API answered with: digits, or the same in double quotes ("%22").',
    ),
]
ClientOrderIdParam = Annotated[str, Path(pattern=CLIENT_ORDER_ID_PATTERN)]
Cursor = Annotated[
    str | None, Query(pattern=r"^[1-9][0-9]{0,18}$", description="next_cursor of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=500)]


def _body(model: Any) -> dict[str, Any]:
    # Bodies are parsed by exchange.api.placing.parse_body (shared with the fast path),
    # so ninja only documents them.
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _principal(request: HttpRequest) -> Principal:
    principal = request.auth  # type: ignore[attr-defined]
    assert isinstance(principal, Principal)
    return principal


@router.post(
    "/orders",
    auth=auth_for(TRADE),
    response={
        200: PlacedOrderOut,
        202: PlacedOrderOut,
        **error_responses(400, 401, 403, 409, 413, 429, 503),
    },
    openapi_extra=_body(PlaceOrderIn),
    summary="Place an order",
    description="202 with status PENDING_NEW once the order is in the stream; 200 when the answer carries "
    "the engine's verdict (response_type RESULT) or an earlier attempt's persisted order (duplicate). "
    "409 DUPLICATE_CLIENT_ORDER_ID when the client_order_id names an order placed with other parameters.",
)
def place(request: HttpRequest) -> Status[dict[str, Any]]:
    answer = place_order(_principal(request), request.body)
    return Status(answer.status, answer.payload)


@router.get(
    "/orders",
    auth=auth_for(READ),
    response={200: OrderPage, **error_responses(400, 401, 403, 429, 503)},
    summary="List your orders, newest first",
    description="Persisted orders only: an order placed a few milliseconds ago may not be listed yet.",
)
def list_orders(
    request: HttpRequest,
    market: Annotated[MarketSymbol | None, Query()] = None,
    status: Annotated[PersistedStatusName | None, Query()] = None,
    open_only: bool = False,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    # No join to the market: with it the optimizer may start from the markets and sort every
    # order of the user; alone, the orders are read newest first and stop at the page.
    orders = of_market(Order.objects.using(reader()).filter(user_id=_principal(request).user_id), market)
    if status is not None:
        orders = orders.filter(status=status)
    if open_only:
        orders = orders.filter(status__in=OPEN_STATUSES)
    if cursor is not None:
        orders = orders.filter(id__lt=int(cursor))
    page = list(orders.order_by("-id")[:limit])
    prefetch_related_objects(page, "market")
    return {
        "items": [persisted_payload(order) for order in page],
        "next_cursor": str(page[-1].id) if len(page) == limit else None,
    }


@router.get(
    "/orders/{order_id}",
    auth=auth_for(READ),
    response={200: OrderOut, **error_responses(400, 401, 403, 404, 429, 503)},
    summary="One of your orders",
    description="status PENDING_NEW: the order is in the stream but not yet persisted.",
)
def get_order(request: HttpRequest, order_id: OrderId) -> dict[str, Any]:
    return find_order(_principal(request).user_id, id_value(order_id, "order_id")).payload


@router.get(
    "/orders/by-client-id/{client_order_id}",
    auth=auth_for(READ),
    response={200: OrderOut, **error_responses(400, 401, 403, 404, 429, 503)},
    summary="One of your orders, by your client order id",
)
def get_order_by_client_id(request: HttpRequest, client_order_id: ClientOrderIdParam) -> dict[str, Any]:
    return find_order_by_client_id(_principal(request).user_id, client_order_id).payload


@router.delete(
    "/orders/{order_id}",
    auth=auth_for(TRADE),
    response={202: OrderCommandOut, **error_responses(400, 401, 403, 404, 409, 429, 503)},
    summary="Cancel an order",
)
def cancel(request: HttpRequest, order_id: OrderId) -> Status[dict[str, Any]]:
    user_id = _principal(request).user_id
    return Status(202, cancel_order(user_id, find_order(user_id, id_value(order_id, "order_id"))))


@router.delete(
    "/orders/by-client-id/{client_order_id}",
    auth=auth_for(TRADE),
    response={202: OrderCommandOut, **error_responses(400, 401, 403, 404, 409, 429, 503)},
    summary="Cancel an order by your client order id",
)
def cancel_by_client_id(request: HttpRequest, client_order_id: ClientOrderIdParam) -> Status[dict[str, Any]]:
    user_id = _principal(request).user_id
    return Status(202, cancel_order(user_id, find_order_by_client_id(user_id, client_order_id)))


@router.delete(
    "/orders",
    auth=auth_for(TRADE),
    response={202: CancelAllOut, **error_responses(400, 401, 403, 429, 503)},
    summary="Cancel all your open orders in a market",
)
def cancel_all_in_market(
    request: HttpRequest, market: Annotated[MarketSymbol, Query()]
) -> Status[dict[str, Any]]:
    return Status(202, cancel_all(_principal(request).user_id, market))


@router.patch(
    "/orders/{order_id}",
    auth=auth_for(TRADE),
    response={202: OrderCommandOut, **error_responses(400, 401, 403, 404, 409, 413, 429, 503)},
    openapi_extra=_body(AmendOrderIn),
    summary="Amend an open LIMIT order's quantity or price",
)
def amend(request: HttpRequest, order_id: OrderId) -> Status[dict[str, Any]]:
    user_id = _principal(request).user_id
    found = find_order(user_id, id_value(order_id, "order_id"))
    return Status(202, amend_order(user_id, found, request.body))
