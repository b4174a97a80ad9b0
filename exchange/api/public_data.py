"""Public market data (no key): a rate limit per client address, and cache headers.

Market data is what crawlers and dashboards poll; a key's own bucket does
not apply to them. Each client address gets a token bucket of
API_PUBLIC_RATE_LIMIT_BURST refilled at API_PUBLIC_RATE_LIMIT_PER_S, in the
same Redis gate as keys (exchange.api.ratelimit). Answers carry
`Cache-Control: public` with a short max-age: a second for what moves with
every trade (book, trades, ticker, candles), ten for the list of markets
and their rules, so a CDN or proxy in front can take the polling.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from exchange.api.errors import ApiError, error_payload
from exchange.api.ratelimit import admit_public

V1_MARKETS = "/api/v1/markets"
V3 = "/api/v3/"
V3_PUBLIC = frozenset(
    {
        "ping",
        "time",
        "exchangeInfo",
        "depth",
        "trades",
        "aggTrades",
        "klines",
        "ticker/24hr",
        "ticker/price",
        "ticker/bookTicker",
        "avgPrice",
    }
)
SLOW_CHANGING = frozenset({V1_MARKETS, V3 + "exchangeInfo"})
MAX_AGE_S = 1
SLOW_MAX_AGE_S = 10


def is_public(path: str) -> bool:
    if path == V1_MARKETS or path.startswith(V1_MARKETS + "/"):
        return True
    return path.startswith(V3) and path[len(V3) :] in V3_PUBLIC


def _refusal(path: str, exc: ApiError) -> HttpResponse:
    body: dict[str, object] = dict(error_payload(exc))
    if path.startswith(V3):
        body = {"code": -1003, "msg": f"Too many requests; {exc.message}."}
    response = HttpResponse(json.dumps(body), status=exc.status, content_type="application/json")
    for name, value in exc.headers().items():
        response[name] = value
    return response


def _cache(path: str, response: HttpResponseBase) -> HttpResponseBase:
    if response.status_code == 200 and not response.has_header("Cache-Control"):
        age = SLOW_MAX_AGE_S if path in SLOW_CHANGING else MAX_AGE_S
        response["Cache-Control"] = f"public, max-age={age}"
    return response


@sync_and_async_middleware
def public_data(
    get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
) -> Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]:
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            public = request.method == "GET" and is_public(request.path)
            if public:
                try:
                    await sync_to_async(admit_public)(request.META.get("REMOTE_ADDR"))
                except ApiError as exc:
                    return _refusal(request.path, exc)
            response = await get_response(request)
            assert isinstance(response, HttpResponseBase)
            return _cache(request.path, response) if public else response

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        public = request.method == "GET" and is_public(request.path)
        if public:
            try:
                admit_public(request.META.get("REMOTE_ADDR"))
            except ApiError as exc:
                return _refusal(request.path, exc)
        response = get_response(request)
        assert isinstance(response, HttpResponseBase)
        return _cache(request.path, response) if public else response

    return middleware
