"""The fast order path admits and places in one Redis round trip (exchange.api.gated_place)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from exchange.api import placing
from tests.api.support import SignedClient, fast_path_app, limit_buy, stream_commands, wsgi_transport

pytestmark = pytest.mark.django_db


@pytest.fixture
def lean(alice_key: Any) -> SignedClient:
    return SignedClient(wsgi_transport(fast_path_app()), alice_key)


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every command the process sends to Redis from now on (each a round trip here)."""
    sent: list[str] = []
    real = redis.Redis.execute_command

    def counted(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return sent


def test_an_order_costs_one_redis_round_trip(lean, alice, btc_usdt, redis_serving_long, redis_commands):
    assert lean.post("/api/v1/orders", limit_buy(client_order_id="warm")).status_code == 202
    redis_commands.clear()

    with_id = lean.post("/api/v1/orders", limit_buy(client_order_id="second"))
    sent_with_id = list(redis_commands)
    redis_commands.clear()
    without_id = lean.post("/api/v1/orders", limit_buy())

    assert (with_id.status_code, without_id.status_code) == (202, 202)
    assert (sent_with_id, redis_commands) == (["EVALSHA"], ["EVALSHA"])
    assert [command.get("cid") for command in stream_commands(alice.pk)][:2] == ["warm", "second"]


def test_a_refused_body_still_spends_a_token(lean, alice, btc_usdt, settings):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 1

    refused = lean.post("/api/v1/orders", limit_buy(price="-1"))
    next_one = lean.post("/api/v1/orders", limit_buy())

    assert refused.status_code == 400
    assert (next_one.status_code, next_one.json()["code"]) == (429, "RATE_LIMITED")
    assert stream_commands(alice.pk) == []


def test_the_rate_limit_answers_before_the_body_is_judged(lean, alice, btc_usdt, settings):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 1
    assert lean.post("/api/v1/orders", limit_buy()).status_code == 202

    malformed = lean.post("/api/v1/orders", raw=b"{not json")
    invalid = lean.post("/api/v1/orders", limit_buy(market="NO/SUCH"))

    assert [(r.status_code, r.json()["code"]) for r in (malformed, invalid)] == [(429, "RATE_LIMITED")] * 2
    assert len(stream_commands(alice.pk)) == 1


def test_a_refused_gate_places_nothing(lean, alice, btc_usdt, settings):
    settings.API_RATE_LIMIT_PER_S = 1
    settings.API_RATE_LIMIT_BURST = 2

    answers = [lean.post("/api/v1/orders", limit_buy(client_order_id=f"o{n}")).status_code for n in range(3)]

    assert answers == [202, 202, 429]
    assert [command["cid"] for command in stream_commands(alice.pk)] == ["o0", "o1"]


def test_on_a_cluster_or_with_the_funds_precheck_the_gate_runs_alone(monkeypatch, settings):
    assert placing.defers_gate()
    settings.API_FUNDS_PRECHECK = True
    assert not placing.defers_gate()
    settings.API_FUNDS_PRECHECK = False
    monkeypatch.setattr(placing, "is_cluster", lambda client: True)
    assert not placing.defers_gate()
