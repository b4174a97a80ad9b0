"""Request metrics of every HTTP process (daphne, granian), served on its /metrics.

Both ways a request is served count it the same way: Django's middleware
(`request_metrics`, outermost in settings.MIDDLEWARE) and the lean order path
(exchange.api.serving) call `observe_request`. The route label is the URL
pattern a request matched (`/api/v1/orders/<order_id>`), never the raw path,
so the number of series stays bounded; `code` is the API's error code
(`INSUFFICIENT_FUNDS`), empty for a success or a page that is not JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "spot_api_requests_total",
    "HTTP requests answered, by method, route template, HTTP status and API error code",
    ["method", "route", "status", "code"],
)
# From 0.25 ms: the order path itself takes well under a millisecond.
LATENCY = Histogram(
    "spot_api_request_seconds",
    "Time to answer a request inside the serving process, by method and route template",
    ["method", "route"],
    buckets=(0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# The order path's one Redis call (the place script; on a single Redis with the rate gate in it), as
# the API sees it. Its script runs in tens of µs: what this adds up is the round trip, Redis's wait
# for a core and the thread's wake-up after the answer, the share of the order latency above.
PLACE_CALL = Histogram(
    "spot_api_place_call_seconds",
    "Time of the order path's Redis call that admits and enqueues an order, as the API process sees it",
    buckets=(0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

# The database lookups of client order ids (ADR 0016): none while the Redis the API reaches has
# served its claims for the whole window; one per order with an id for 300 s after a restart or a
# takeover, and always on Redis Cluster. A burst here explains a slower API after a Redis restart.
CLIENT_ID_LOOKUPS = Counter(
    "spot_api_client_id_lookups_total",
    "Client order ids the API looked up in the database because Redis may have lost their claims",
)

# A method outside these is counted as OTHER: a scanner's made-up verbs must not make series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
# An error body longer than this is not one of ours ({"code", "message"}); its code is not read.
MAX_ERROR_BODY = 4096

_children: dict[tuple[str, str, int, str], tuple[Counter, Histogram]] = {}


def observe_request(method: str, route: str, status: int, code: str, seconds: float) -> None:
    if method not in METHODS:
        method = "OTHER"
    key = (method, route, status, code)
    children = _children.get(key)
    if children is None:
        children = (REQUESTS.labels(method, route, str(status), code), LATENCY.labels(method, route))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def route_of(request: HttpRequest) -> str:
    """The URL pattern the request matched: `/api/v1/orders/<order_id>`; `/api/` for an unknown API route."""
    match = request.resolver_match
    if match is None or match.route is None:
        return UNMATCHED
    return "/" + match.route.lstrip("^")


def error_code(response: HttpResponseBase) -> str:
    if response.status_code < 400 or response.streaming:
        return ""
    if not response.get("Content-Type", "").startswith("application/json"):
        return ""
    body = response.content  # type: ignore[attr-defined]
    if len(body) > MAX_ERROR_BODY:
        return ""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, str) and code.isupper() and len(code) <= 40 else ""


def _observe(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    observe_request(
        request.method or "",
        route_of(request),
        response.status_code,
        error_code(response),
        time.perf_counter() - started,
    )


@sync_and_async_middleware
def request_metrics(
    get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
) -> Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]:
    """Counts and times every request Django answers (daphne keeps its async path: no thread hop)."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await get_response(request)
            assert isinstance(response, HttpResponseBase)
            _observe(request, response, started)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = get_response(request)
        assert isinstance(response, HttpResponseBase)
        _observe(request, response, started)
        return response

    return middleware
