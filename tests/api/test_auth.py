"""Signed requests and sessions: what gets in, what is refused, and with which code."""

from __future__ import annotations

import base64
import time

import pytest
from django.test import Client

from exchange.api.signing import private_key_from_text, signed_headers
from tests.api.support import SignedClient, limit_buy, stream_commands

pytestmark = pytest.mark.django_db


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_a_signed_request_acts_for_the_keys_user(alice_any_path, alice, btc_usdt):
    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert response.status_code == 202
    assert stream_commands(alice.pk)[0]["uid"] == alice.pk


def test_a_request_without_credentials_is_refused(transport, alice, btc_usdt):
    response = SignedClient(transport, None).post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")
    assert stream_commands(alice.pk) == []


@pytest.mark.parametrize("missing", ["X-Spot-Timestamp", "X-Spot-Signature"])
def test_a_request_with_part_of_the_headers_is_refused(transport, alice_key, btc_usdt, missing):
    headers = signed_headers(
        alice_key.api_key.key_id, private_key_from_text(alice_key.private_key), "GET", "/api/v1/orders"
    )
    del headers[missing]

    response = SignedClient(transport, None).get("/api/v1/orders", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "MISSING_SIGNATURE")


@pytest.mark.parametrize("skew_ms", [-6_000, 6_000, -3_600_000])
def test_a_timestamp_outside_the_receive_window_is_refused(alice_any_path, alice, btc_usdt, skew_ms):
    response = alice_any_path.post("/api/v1/orders", limit_buy(), timestamp_ms=_now_ms() + skew_ms)

    assert (response.status_code, response.json()["code"]) == (401, "STALE_TIMESTAMP")
    assert stream_commands(alice.pk) == []


def test_a_timestamp_inside_the_receive_window_is_accepted(alice_any_path, btc_usdt):
    response = alice_any_path.post("/api/v1/orders", limit_buy(), timestamp_ms=_now_ms() - 4_000)

    assert response.status_code == 202


@pytest.mark.parametrize("timestamp", ["soon", "1.7e12", "-1", "99999999999999999"])
def test_a_timestamp_that_is_not_milliseconds_is_refused(alice_any_path, alice_key, btc_usdt, timestamp):
    response = alice_any_path.post("/api/v1/orders", limit_buy(), headers={"X-Spot-Timestamp": timestamp})

    assert (response.status_code, response.json()["code"]) == (401, "BAD_TIMESTAMP")


def test_a_signature_over_another_body_is_refused(alice_any_path, alice_key, alice, btc_usdt):
    signed_for = b'{"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": "1.00", "quantity": "5"}'
    headers = signed_headers(
        alice_key.api_key.key_id,
        private_key_from_text(alice_key.private_key),
        "POST",
        "/api/v1/orders",
        signed_for,
    )

    response = SignedClient(alice_any_path.transport, None).post(
        "/api/v1/orders", limit_buy(), headers=headers
    )

    assert (response.status_code, response.json()["code"]) == (401, "BAD_SIGNATURE")
    assert stream_commands(alice.pk) == []


def test_a_signature_over_another_path_or_query_is_refused(alice_api, alice_key):
    headers = signed_headers(
        alice_key.api_key.key_id,
        private_key_from_text(alice_key.private_key),
        "GET",
        "/api/v1/orders?market=ETH/USDT",
    )

    response = SignedClient(alice_api.transport, None).get("/api/v1/orders?market=BTC/USDT", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "BAD_SIGNATURE")


def test_a_signature_over_another_method_is_refused(alice_api, alice_key):
    headers = signed_headers(
        alice_key.api_key.key_id, private_key_from_text(alice_key.private_key), "DELETE", "/api/v1/orders/1"
    )

    response = SignedClient(alice_api.transport, None).get("/api/v1/orders/1", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "BAD_SIGNATURE")


def test_signing_with_another_users_key_id_is_refused(transport, alice_key, bob_key, bob, btc_usdt):
    # Alice's private key, Bob's key id: she cannot act as Bob.
    body = b'{"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": "30000", "quantity": "0.001"}'
    headers = signed_headers(
        bob_key.api_key.key_id, private_key_from_text(alice_key.private_key), "POST", "/api/v1/orders", body
    )

    response = SignedClient(transport, None).post("/api/v1/orders", raw=body, headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "BAD_SIGNATURE")
    assert stream_commands(bob.pk) == []


@pytest.mark.parametrize("signature", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_a_garbled_signature_is_refused(alice_any_path, btc_usdt, signature):
    response = alice_any_path.post("/api/v1/orders", limit_buy(), headers={"X-Spot-Signature": signature})

    assert response.status_code == 401
    assert response.json()["code"] in {"BAD_SIGNATURE", "MISSING_SIGNATURE"}


def test_an_unknown_key_is_refused(transport, alice_key, btc_usdt):
    alice_key.api_key.key_id = "sk_does_not_exist"

    response = SignedClient(transport, alice_key).post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (401, "UNKNOWN_KEY")


def test_a_revoked_key_is_refused_at_once_although_cached(alice_any_path, alice_key, alice, btc_usdt):
    assert alice_any_path.post("/api/v1/orders", limit_buy()).status_code == 202  # now cached

    alice_key.api_key.revoke()
    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (401, "KEY_REVOKED")
    assert len(stream_commands(alice.pk)) == 1


def test_a_revocation_in_another_process_reaches_this_one_through_redis(
    alice_any_path, alice_key, alice, btc_usdt
):
    from exchange.api.keys import key_cache, mark_revoked

    assert alice_any_path.get("/api/v1/orders").status_code == 200
    record = key_cache.get(alice_key.api_key.key_id)
    # Another process revoked it: this process's cache still says active.
    mark_revoked([alice_key.api_key.key_id])
    key_cache._entries[alice_key.api_key.key_id] = (time.monotonic() + 60, record)

    response = alice_any_path.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (401, "KEY_REVOKED")


def test_a_deleted_key_is_refused_at_once(alice_any_path, alice_key, btc_usdt):
    assert alice_any_path.get("/api/v1/orders").status_code == 200

    alice_key.api_key.delete()

    assert alice_any_path.get("/api/v1/orders").json()["code"] in {"KEY_REVOKED", "UNKNOWN_KEY"}


def test_a_deactivated_users_keys_are_refused_at_once(alice_any_path, alice, btc_usdt):
    assert alice_any_path.get("/api/v1/orders").status_code == 200

    alice.is_active = False
    alice.save()
    response = alice_any_path.get("/api/v1/orders")

    assert (response.status_code, response.json()["code"]) == (401, "KEY_REVOKED")


def test_a_read_only_key_cannot_trade(transport, alice_read_only_key, alice, btc_usdt):
    client = SignedClient(transport, alice_read_only_key)

    response = client.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (403, "SCOPE_MISSING")
    assert stream_commands(alice.pk) == []
    assert client.get("/api/v1/orders").status_code == 200


def test_a_trade_only_key_cannot_read(alice, btc_usdt):
    from exchange.services.api_keys import issue_api_key
    from tests.api.support import django_transport

    key = issue_api_key(alice, "trade only", can_read=False, can_trade=True)
    client = SignedClient(django_transport(Client()), key)

    assert (
        client.get("/api/v1/balances").status_code,
        client.post("/api/v1/orders", limit_buy()).status_code,
    ) == (
        403,
        202,
    )


def test_a_replayed_request_is_refused_inside_the_window(alice_any_path, alice_key, alice, btc_usdt):
    body = b'{"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": "30000", "quantity": "0.001"}'
    headers = signed_headers(
        alice_key.api_key.key_id, private_key_from_text(alice_key.private_key), "POST", "/api/v1/orders", body
    )
    anonymous = SignedClient(alice_any_path.transport, None)

    first = anonymous.post("/api/v1/orders", raw=body, headers=headers)
    replay = anonymous.post("/api/v1/orders", raw=body, headers=headers)

    assert first.status_code == 202
    assert (replay.status_code, replay.json()["code"]) == (401, "REPLAYED")
    assert len(stream_commands(alice.pk)) == 1


def test_a_browser_session_can_read_and_trade_with_csrf(alice, btc_usdt):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/admin/login/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value

    listed = browser.get("/api/v1/orders")
    placed = browser.post(
        "/api/v1/orders", limit_buy(), content_type="application/json", headers={"X-CSRFToken": token}
    )

    assert listed.status_code == 200
    assert placed.status_code == 202
    assert stream_commands(alice.pk)[0]["uid"] == alice.pk


def test_a_browser_session_without_csrf_token_cannot_trade(alice, btc_usdt):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post("/api/v1/orders", limit_buy(), content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (403, "CSRF_FAILED")
    assert stream_commands(alice.pk) == []


def test_a_repeated_read_is_not_a_replay(alice_api, alice_key):
    headers = signed_headers(
        alice_key.api_key.key_id, private_key_from_text(alice_key.private_key), "GET", "/api/v1/balances"
    )
    anonymous = SignedClient(alice_api.transport, None)

    statuses = [anonymous.get("/api/v1/balances", headers=headers).status_code for _ in range(2)]

    assert statuses == [200, 200]


def test_a_cached_key_keeps_working_while_the_database_is_down(
    alice_any_path, btc_usdt, settings, monkeypatch
):
    from django.db import OperationalError, connection

    settings.API_KEY_CACHE_MS = 0  # every request tries to reload the key
    settings.API_MARKET_CACHE_MS = 0
    settings.API_CLIENT_ID_DB_CHECK = False
    assert alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="up")).status_code == 202

    def down():
        raise OperationalError("server has gone away")

    monkeypatch.setattr(connection, "cursor", down)

    assert alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="down")).status_code == 202


def test_an_unknown_key_while_the_database_is_down_answers_503(transport, alice_key, btc_usdt, monkeypatch):
    from django.db import OperationalError, connection

    def down():
        raise OperationalError("server has gone away")

    monkeypatch.setattr(connection, "cursor", down)
    response = SignedClient(transport, alice_key).get("/api/v1/markets/BTC/USDT/depth")  # public: no key read
    signed = SignedClient(transport, alice_key).post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (503, "UNAVAILABLE")
    assert (signed.status_code, signed.json()["code"]) == (503, "UNAVAILABLE")
