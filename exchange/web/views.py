"""The market page: a server-rendered shell; the browser fills it from /api/v1 and /ws/.

The page holds no trading logic of its own. It reads market data over the
public REST endpoints and WebSocket channels, and places and cancels orders
through /api/v1/orders with the browser's Django session (and its CSRF
token), the same endpoint and checks as a signed API client.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from exchange.amounts import amount_text
from exchange.models import Market


@ensure_csrf_cookie
def market_page(request: HttpRequest) -> HttpResponse:
    markets = Market.objects.select_related("base", "quote").order_by("symbol")
    user = request.user if request.user.is_authenticated else None
    config: dict[str, Any] = {
        "markets": [_market(market) for market in markets],
        "user": None if user is None else {"id": user.pk, "username": user.get_username()},
    }
    return render(request, "exchange/market.html", {"config": config, "markets": markets})


def _market(market: Market) -> dict[str, str]:
    return {
        "symbol": market.symbol,
        "base": market.base.code,
        "quote": market.quote.code,
        "status": market.status,
        "tick_size": amount_text(market.tick_size),
        "lot_size": amount_text(market.lot_size),
        "min_notional": amount_text(market.min_notional),
    }


class TraderLoginView(LoginView):
    """Django's login form for traders (any active user), back to the market page."""

    template_name = "exchange/login.html"
    redirect_authenticated_user = True
    next_page = "market"
