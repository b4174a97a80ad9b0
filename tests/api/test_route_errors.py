"""Under /api/, an unknown route, a method a path does not take and a crash answer JSON, on both paths."""

from __future__ import annotations

import pytest

from tests.api.support import SignedClient, limit_buy

pytestmark = pytest.mark.django_db


def _refusal(reply) -> tuple[int, str, str]:
    return reply.status_code, reply.headers["Content-Type"], reply.json()["code"]


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/api/v1/nothing-here"),
        ("POST", "/api/v1/nothing-here"),
        ("DELETE", "/api/v1/markets/BTC/USDT/nothing"),
        ("GET", "/api/v1/orders/"),
        ("GET", "/api/v1/"),
        ("GET", "/api/v1"),
        ("GET", "/api/v2/orders"),
        ("GET", "/api/"),
    ],
)
def test_an_unknown_route_is_a_json_404(transport, alice_key, btc_usdt, method, target):
    for client in (SignedClient(transport, alice_key), SignedClient(transport, None)):
        reply = client.request(method, target)

        assert _refusal(reply) == (404, "application/json; charset=utf-8", "NOT_FOUND")
        assert target.rstrip("/") in reply.json()["message"]


@pytest.mark.parametrize(
    ("method", "target", "allowed"),
    [
        ("PUT", "/api/v1/orders", {"GET", "POST", "DELETE"}),
        ("PATCH", "/api/v1/orders", {"GET", "POST", "DELETE"}),
        ("POST", "/api/v1/orders/123", {"GET", "DELETE", "PATCH"}),
        ("POST", "/api/v1/markets", {"GET"}),
        ("DELETE", "/api/v1/balances", {"GET"}),
    ],
)
def test_a_method_the_path_does_not_take_is_a_json_405_with_allow(
    transport, alice_key, btc_usdt, method, target, allowed
):
    for client in (SignedClient(transport, alice_key), SignedClient(transport, None)):
        reply = client.request(method, target, limit_buy())

        assert _refusal(reply) == (405, "application/json; charset=utf-8", "METHOD_NOT_ALLOWED")
        assert {name.strip() for name in reply.headers["Allow"].split(",")} == allowed


def test_routes_outside_the_api_keep_djangos_pages(client):
    reply = client.get("/no-such-page")

    assert reply.status_code == 404
    assert not reply.headers["Content-Type"].startswith("application/json")


def test_a_crash_in_a_view_is_a_json_500(transport, alice_key, btc_usdt, monkeypatch):
    from exchange.api import market_data

    def broken(market, limit):
        raise RuntimeError("boom")

    monkeypatch.setattr("exchange.api.markets.depth", broken)
    assert market_data.depth is not broken  # patched where the view looks it up

    reply = SignedClient(transport, None).get("/api/v1/markets/BTC/USDT/depth")

    assert _refusal(reply) == (500, "application/json; charset=utf-8", "INTERNAL")
