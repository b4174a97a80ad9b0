"""The routes of /api/v3: each path's methods, and one wrapper that answers Binance's way.

Every answer is JSON; every refusal is {"code": <negative int>, "msg": "..."},
with the order flow's own refusals translated (exchange.api.binance.errors).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from exchange.api.auth import check_body_size
from exchange.api.binance import market_views, order_views
from exchange.api.binance.errors import UNKNOWN, BinanceError, error_response, from_api_error, json_response
from exchange.api.binance.params import Params
from exchange.api.errors import ApiError

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest, Params], Any]

ROUTES: dict[str, dict[str, Handler]] = {
    "ping": {"GET": market_views.ping},
    "time": {"GET": market_views.server_time},
    "exchangeInfo": {"GET": market_views.exchange_info},
    "depth": {"GET": market_views.order_book},
    "trades": {"GET": market_views.trades},
    "aggTrades": {"GET": market_views.agg_trades},
    "klines": {"GET": market_views.klines},
    "ticker/24hr": {"GET": market_views.ticker_24h},
    "ticker/price": {"GET": market_views.ticker_price},
    "ticker/bookTicker": {"GET": market_views.book_ticker},
    "avgPrice": {"GET": market_views.avg_price},
    "order": {
        "POST": order_views.new_order,
        "GET": order_views.get_order,
        "DELETE": order_views.delete_order,
    },
    "order/test": {"POST": order_views.test_order},
    "openOrders": {"GET": order_views.open_orders, "DELETE": order_views.cancel_open_orders},
    "allOrders": {"GET": order_views.all_orders},
    "myTrades": {"GET": order_views.my_trades},
    "account": {"GET": order_views.account},
}


def _route(methods: dict[str, Handler]) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        handler = methods.get(request.method or "GET")
        if handler is None:
            return error_response(BinanceError(UNKNOWN, f"Method {request.method} is not allowed here.", 405))
        try:
            check_body_size(request.META)
            return json_response(handler(request, Params.of(request)))
        except BinanceError as exc:
            return error_response(exc)
        except ApiError as exc:
            return error_response(from_api_error(exc))
        except DatabaseError:
            logger.exception("database error on /api/v3/%s", request.path)
            return error_response(
                BinanceError(-1001, "Internal error; unable to process your request. Please try again.", 503)
            )

    return view


@csrf_exempt
def unknown_endpoint(request: HttpRequest, rest: str) -> HttpResponse:
    return error_response(BinanceError(UNKNOWN, f"Unknown endpoint /api/v3/{rest}.", 404))


urlpatterns: list[URLPattern] = [
    *(path(name, _route(methods)) for name, methods in ROUTES.items()),
    re_path(r"^(?P<rest>.*)$", unknown_endpoint),
]
