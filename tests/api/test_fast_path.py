"""The lean WSGI path answers POST /orders exactly as the ninja view does, and passes the rest on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.support import SignedClient, django_transport, fast_path_app, limit_buy, wsgi_transport

pytestmark = pytest.mark.django_db

REQUESTS = [
    limit_buy(client_order_id="same-1"),
    limit_buy(client_order_id="same-1"),
    limit_buy(price="1.001"),
    limit_buy(price="NaN"),
    limit_buy(extra="x"),
    {"market": "BTC/USDT", "side": "SELL", "type": "MARKET", "quantity": "0.5", "client_order_id": "m-1"},
]


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    # Ids and times differ between two placements; everything else must not.
    return {key: value for key, value in body.items() if key not in ("order_id", "created_at", "updated_at")}


def test_both_paths_give_the_same_answers(alice_key, alice, btc_usdt, redis_prefix, settings):
    lean = SignedClient(wsgi_transport(fast_path_app()), alice_key)
    answers_lean = [lean.post("/api/v1/orders", body) for body in REQUESTS]
    settings.REDIS_KEY_PREFIX = redis_prefix + "-django"  # a fresh stream, so duplicates repeat
    django = SignedClient(django_transport(Client()), alice_key)
    answers_django = [django.post("/api/v1/orders", body) for body in REQUESTS]

    for lean_reply, django_reply in zip(answers_lean, answers_django, strict=True):
        assert lean_reply.status_code == django_reply.status_code
        assert _comparable(lean_reply.json()) == _comparable(django_reply.json())
        assert lean_reply.headers["Content-Type"] == django_reply.headers["Content-Type"]


def test_the_lean_path_passes_other_requests_to_django(alice_key, alice, btc_usdt):
    lean = SignedClient(wsgi_transport(fast_path_app()), alice_key)

    assert lean.get("/api/v1/orders").status_code == 200
    assert lean.get("/api/v1/markets").status_code == 200
    assert SignedClient(lean.transport, None).get("/healthz").status_code == 200


def test_the_lean_path_refuses_a_chunked_body_over_the_limit(alice_key, alice, btc_usdt, settings):
    import io

    from tests.api.support import keeping_test_connection

    app = fast_path_app()
    body = b"{" + b" " * settings.API_MAX_BODY_BYTES + b"}"
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/orders",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "HTTP_X_SPOT_KEY": alice_key.api_key.key_id,
    }
    statuses = []
    with keeping_test_connection():
        app(environ, lambda status, headers: statuses.append(status))

    assert statuses == ["413 Request Entity Too Large"]


def test_the_lean_path_answers_500_as_json_when_something_breaks(alice_key, alice, btc_usdt, monkeypatch):
    from exchange.api import placing

    def broken(principal, body):
        raise RuntimeError("boom")

    monkeypatch.setattr(placing, "place_order", broken)
    lean = SignedClient(wsgi_transport(fast_path_app()), alice_key)

    response = lean.post("/api/v1/orders", limit_buy())

    assert (response.status_code, response.json()["code"]) == (500, "INTERNAL")
