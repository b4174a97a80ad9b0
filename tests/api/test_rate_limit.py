"""Per-key token buckets in Redis: 429 with Retry-After once a key's burst is spent."""

from __future__ import annotations

import pytest

from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db


@pytest.mark.cluster
def test_it_answers_429_with_retry_after_once_the_burst_is_spent(alice_any_path, alice, btc_usdt, settings):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 3

    statuses = [
        alice_any_path.post("/api/v1/orders", limit_buy(client_order_id=f"o{n}")).status_code
        for n in range(3)
    ]
    refused = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="o4"))

    assert statuses == [202, 202, 202]
    assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMITED")
    assert refused.headers["Retry-After"] == "1"
    assert len(stream_commands(alice.pk)) == 3


def test_each_key_has_its_own_bucket(alice_api, bob_api, btc_usdt, settings):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 1

    assert alice_api.get("/api/v1/orders").status_code == 200
    assert alice_api.get("/api/v1/orders").status_code == 429
    assert bob_api.get("/api/v1/orders").status_code == 200


def test_forged_requests_do_not_spend_the_keys_tokens(alice_api, btc_usdt, settings):
    # Bad signatures never reach the bucket, so nobody can drain someone else's limit.
    from tests.api.support import SignedClient

    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 2
    forged = {"X-Spot-Key": alice_api.key.api_key.key_id, "X-Spot-Timestamp": "1", "X-Spot-Signature": "AAAA"}
    for _ in range(5):
        SignedClient(alice_api.transport, None).get("/api/v1/orders", headers=forged)

    assert alice_api.get("/api/v1/orders").status_code == 200


def test_a_browser_session_is_limited_per_user(alice, btc_usdt, settings, client):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 1
    client.force_login(alice)

    assert client.get("/api/v1/balances").status_code == 200
    assert client.get("/api/v1/balances").status_code == 429
