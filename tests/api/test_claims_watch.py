"""The database lookup of client order ids runs only while Redis may have lost claims (ADR 0016)."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from exchange.api import auth, gated_place, placing, ratelimit
from exchange.api.claims_watch import marker_key, serving_since_ms
from exchange.api.redis_clients import api_redis, claims_watch
from exchange.pipeline.keys import accounts_keys
from tests.api.conftest import mark_claims_server
from tests.api.support import limit_buy, persist_order, stream_commands

pytestmark = pytest.mark.django_db


def _lookups() -> float:
    """The API's database lookups of client order ids so far (its /metrics counter)."""
    return REGISTRY.get_sample_value("spot_api_client_id_lookups_total") or 0.0


def _disconnect_api_redis() -> None:
    """Close the thread's connection: its next command connects anew."""
    connection = api_redis().connection
    assert connection is not None
    connection.disconnect()


def test_a_new_marker_dates_from_the_servers_start(redis_conn):
    before_ms = int(time.time() * 1000)
    uptime_before = int(redis_conn.info("server")["uptime_in_seconds"])

    since = serving_since_ms(redis_conn)

    uptime_after = int(redis_conn.info("server")["uptime_in_seconds"])
    after_ms = int(time.time() * 1000)
    assert before_ms - (uptime_after + 1) * 1000 <= since <= after_ms - uptime_before * 1000
    assert int(redis_conn.hget(marker_key(), "since_ms")) == since


def test_the_same_server_keeps_its_marker(redis_conn):
    run_id = redis_conn.info("server")["run_id"]
    redis_conn.hset(marker_key(), mapping={"run_id": run_id, "since_ms": 1234})

    assert serving_since_ms(redis_conn) == 1234


def test_another_server_is_marked_from_now(redis_conn):
    redis_conn.hset(marker_key(), mapping={"run_id": "a-server-that-is-gone", "since_ms": 1234})
    before_ms = int(time.time() * 1000)

    since = serving_since_ms(redis_conn)

    assert before_ms <= since <= int(time.time() * 1000)
    assert redis_conn.hget(marker_key(), "run_id").decode() == redis_conn.info("server")["run_id"]


def test_a_server_serving_longer_than_the_window_needs_no_lookup(
    alice_any_path, alice, btc_usdt, redis_serving_long, django_assert_num_queries
):
    alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="warm"))  # the key and markets are cached
    lookups = _lookups()

    with django_assert_num_queries(0):
        response = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="cold"))

    assert response.status_code == 202
    assert _lookups() == lookups
    assert claims_watch().may_have_lost_claims() is False


def test_after_a_takeover_a_retry_whose_claim_was_lost_gets_its_original(
    alice_any_path, alice, btc_usdt, redis_conn, redis_serving_long
):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once")
    # Another server takes over without the claim; the API's connection is made anew.
    redis_conn.delete(accounts_keys(0).client_order_id(alice.pk, "once"))
    redis_conn.hset(marker_key(), "run_id", "a-server-that-is-gone")
    _disconnect_api_redis()
    lookups = _lookups()

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert (retry.status_code, retry.json()["order_id"], retry.json()["duplicate"]) == (200, order_id, True)
    assert len(stream_commands(alice.pk)) == 1
    assert _lookups() == lookups + 1  # counted, for the operators' dashboard


def test_a_takeover_during_the_place_call_still_answers_the_original(
    alice_any_path, alice, btc_usdt, redis_conn, redis_serving_long, monkeypatch
):
    order_id = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once")).json()["order_id"]
    persist_order(alice, btc_usdt, int(order_id), client_order_id="once")
    redis_conn.delete(accounts_keys(0).client_order_id(alice.pk, "once"))
    real_run_gate, real_gated_place = ratelimit.run_gate, gated_place.gated_place

    def take_over() -> None:
        redis_conn.hset(marker_key(), "run_id", "a-server-that-is-gone")
        _disconnect_api_redis()

    def run_gate_then_take_over(*args, **kwargs):
        # Django's path: the gate passes on the old server; the place script runs on a new one.
        real_run_gate(*args, **kwargs)
        take_over()

    def take_over_then_gated_place(*args, **kwargs):
        # The fast path decided on the old server; its one script (gate and place) runs on a new one.
        take_over()
        return real_gated_place(*args, **kwargs)

    monkeypatch.setattr(auth, "run_gate", run_gate_then_take_over)
    monkeypatch.setattr(placing, "gated_place", take_over_then_gated_place)

    retry = alice_any_path.post("/api/v1/orders", limit_buy(client_order_id="once"))

    assert (retry.status_code, retry.json()["order_id"], retry.json()["duplicate"]) == (200, order_id, True)
    # The place went into the stream before the lookup; the accounts stage refuses it as a duplicate.
    assert [command["cid"] for command in stream_commands(alice.pk)] == ["once", "once"]


def test_redis_cluster_keeps_the_lookup_on(monkeypatch):
    from exchange.api import claims_watch as module

    monkeypatch.setattr(module, "is_cluster", lambda client: True)

    assert module.ClaimsWatch(api_redis()).may_have_lost_claims() is True


def test_the_marker_is_the_prefixs_own(settings, redis_conn):
    mark_claims_server(redis_conn, "x", 1)

    assert marker_key().startswith(f"{settings.REDIS_KEY_PREFIX}:")
    assert redis_conn.exists(marker_key())
