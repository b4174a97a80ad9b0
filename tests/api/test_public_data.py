"""Public market data: a rate limit per client address, and cache headers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "max_age"),
    [
        ("/api/v1/markets", 10),
        ("/api/v1/markets/BTC/USDT/depth", 1),
        ("/api/v1/markets/BTC/USDT/ticker", 1),
        ("/api/v3/exchangeInfo", 10),
        ("/api/v3/depth?symbol=BTCUSDT", 1),
    ],
)
def test_public_answers_may_be_cached_briefly(client, btc_usdt, path, max_age):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == f"public, max-age={max_age}"


def test_private_answers_and_refusals_are_not_marked_cacheable(client, btc_usdt):
    assert not client.get("/api/v1/orders").has_header("Cache-Control")
    assert not client.get("/api/v1/markets/XRP/USDT").has_header("Cache-Control")


def test_each_client_address_has_its_own_bucket(client, btc_usdt, settings):
    settings.API_PUBLIC_RATE_LIMIT_PER_S = 1
    settings.API_PUBLIC_RATE_LIMIT_BURST = 2
    first = {"REMOTE_ADDR": "198.51.100.7"}
    assert [client.get("/api/v1/markets", **first).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/markets/BTC/USDT/trades", **first)
    assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMITED")
    assert int(refused["Retry-After"]) >= 1
    binance = client.get("/api/v3/ticker/price", **first)
    assert (binance.status_code, binance.json()["code"]) == (429, -1003)
    # Another address is not held back, nor are signed requests (their key's own bucket).
    assert client.get("/api/v1/markets", REMOTE_ADDR="198.51.100.8").status_code == 200
    assert client.get("/api/v1/orders", **first).status_code == 401
