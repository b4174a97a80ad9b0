"""Every request is counted and timed on /metrics, by route template, status and error code."""

from __future__ import annotations

import pytest

from exchange.api import metrics
from tests.api.support import limit_buy

pytestmark = pytest.mark.django_db


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.removeprefix(series + " "))
    return 0.0


def _requests(method: str, route: str, status: int, code: str = "") -> str:
    return f'spot_api_requests_total{{code="{code}",method="{method}",route="{route}",status="{status}"}}'


def test_each_placed_order_is_counted_by_status_and_code_on_both_paths(alice_any_path, btc_usdt, client):
    before = client.get("/metrics").content.decode()

    alice_any_path.post("/api/v1/orders", limit_buy())
    refused = alice_any_path.post("/api/v1/orders", limit_buy(price="0.001"))

    after = client.get("/metrics").content.decode()
    accepted = _requests("POST", "/api/v1/orders", 202)
    off_tick = _requests("POST", "/api/v1/orders", 400, refused.json()["code"])
    assert _value(after, accepted) == _value(before, accepted) + 1
    assert refused.status_code == 400
    assert _value(after, off_tick) == _value(before, off_tick) + 1
    timed = 'spot_api_request_seconds_count{method="POST",route="/api/v1/orders"}'
    assert _value(after, timed) == _value(before, timed) + 2


def test_each_orders_redis_call_is_timed_on_both_paths(alice_any_path, btc_usdt, client):
    """The place script's round trip as the API sees it, apart from the request's whole time."""
    calls = "spot_api_place_call_seconds_count"
    before = _value(client.get("/metrics").content.decode(), calls)

    alice_any_path.post("/api/v1/orders", limit_buy())
    alice_any_path.post("/api/v1/orders", limit_buy(price="0.001"))  # refused before Redis is asked

    assert _value(client.get("/metrics").content.decode(), calls) == before + 1


def test_the_route_label_is_the_url_pattern_not_the_path(alice_api, btc_usdt, client):
    before = client.get("/metrics").content.decode()

    missing = alice_api.get("/api/v1/orders/123")
    alice_api.get("/api/v1/orders/456")
    client.get("/api/v1/no-such-thing")

    after = client.get("/metrics").content.decode()
    lookup = _requests("GET", "/api/v1/orders/<order_id>", 404, missing.json()["code"])
    assert missing.status_code == 404
    assert _value(after, lookup) == _value(before, lookup) + 2
    unknown = _requests("GET", "/api/", 404, "NOT_FOUND")
    assert _value(after, unknown) == _value(before, unknown) + 1
    assert "/api/v1/orders/123" not in after


def test_a_made_up_method_is_counted_as_other(client):
    before = client.get("/metrics").content.decode()

    client.generic("BREW", "/healthz")
    cached = len(metrics._children)
    client.generic("PROPFIND", "/healthz")
    assert len(metrics._children) == cached  # the same labels: no new entry in the cache either

    after = client.get("/metrics").content.decode()
    assert not [line for line in after.splitlines() if line.startswith("spot_") and "BREW" in line]
    timed = 'spot_api_request_seconds_count{method="OTHER",route="/healthz"}'
    assert _value(after, timed) == _value(before, timed) + 2
