"""A path is verified as the client sent it: percent-encoded, quoted, with an encoded query.

Three ways a server hands over the path: werkzeug and gunicorn keep the
request target as sent (RAW_URI), daphne keeps ASGI's raw_path, and granian
and Django's test client keep only the decoded path. tests/api/test_served_paths.py
does the same against a real daphne and a real granian.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.test import Client

from exchange.api.auth import request_targets
from exchange.api.request_target import signed_targets
from exchange.api.signing import private_key_from_text, signed_headers
from tests.api.support import SignedClient, django_transport, fast_path_app, persist_order, wsgi_transport

pytestmark = pytest.mark.django_db

ORDER_ID = (3_000_000_000 << 22) | (5 << 10)


def _without_raw_uri(app: Any) -> Any:
    """A WSGI server that, like granian, passes the decoded path only."""

    def served(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("RAW_URI", None)
        environ.pop("REQUEST_URI", None)
        return app(environ, start_response)

    return served


@pytest.fixture(params=["django-test-client", "wsgi-with-raw-uri", "wsgi-decoded-path-only"])
def signed_as_sent(request: pytest.FixtureRequest, alice_key: Any) -> SignedClient:
    transports = {
        "django-test-client": lambda: django_transport(Client()),
        "wsgi-with-raw-uri": lambda: wsgi_transport(fast_path_app()),
        "wsgi-decoded-path-only": lambda: wsgi_transport(_without_raw_uri(fast_path_app())),
    }
    return SignedClient(transports[request.param](), alice_key)


def test_a_percent_encoded_path_signed_as_sent_is_verified(signed_as_sent, btc_usdt):
    response = signed_as_sent.get("/api/v1/orders/by-client-id/a%20b")

    # Past the signature: the client order id itself is what is wrong.
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_VALUE")


def test_a_quoted_order_id_in_the_path_signed_as_sent_finds_the_order(signed_as_sent, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID)

    response = signed_as_sent.get(f"/api/v1/orders/%22{ORDER_ID}%22")

    assert (response.status_code, response.json()["order_id"]) == (200, str(ORDER_ID))


def test_an_encoded_query_signed_as_sent_is_verified(signed_as_sent, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID)

    response = signed_as_sent.get("/api/v1/orders?market=BTC%2FUSDT")

    assert response.status_code == 200
    assert [order["order_id"] for order in response.json()["items"]] == [str(ORDER_ID)]


def test_a_signature_over_the_decoded_path_is_refused_when_the_server_kept_the_path(alice_key, btc_usdt):
    private = private_key_from_text(alice_key.private_key)
    headers = signed_headers(alice_key.api_key.key_id, private, "GET", "/api/v1/orders/by-client-id/a b")

    response = SignedClient(wsgi_transport(fast_path_app()), None).get(
        "/api/v1/orders/by-client-id/a%20b", headers=headers
    )

    assert (response.status_code, response.json()["code"]) == (401, "BAD_SIGNATURE")


def test_an_encoding_of_a_plain_character_is_verified_where_the_server_kept_the_path(alice_key, btc_usdt):
    # "%61" is "a": only the bytes as sent can tell that this is what was signed.
    response = SignedClient(wsgi_transport(fast_path_app()), alice_key).get(
        "/api/v1/orders/by-client-id/%61bc"
    )

    assert (response.status_code, response.json()["code"]) == (404, "ORDER_NOT_FOUND")


def test_daphnes_raw_path_is_the_signed_path():
    # What daphne gives: the decoded path, the bytes as sent, the query undecoded.
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/orders/by-client-id/abc",
        "raw_path": b"/api/v1/orders/by-client-id/%61bc",
        "query_string": b"market=BTC%2FUSDT",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
    }
    request = ASGIRequest(scope, io.BytesIO(b""))

    assert request_targets(request) == ("/api/v1/orders/by-client-id/%61bc?market=BTC%2FUSDT",)


@pytest.mark.parametrize(
    ("decoded", "expected"),
    [
        ("/api/v1/orders", ("/api/v1/orders",)),
        (
            "/api/v1/orders/by-client-id/a b:c",
            (
                "/api/v1/orders/by-client-id/a b:c",
                "/api/v1/orders/by-client-id/a%20b:c",
                "/api/v1/orders/by-client-id/a%20b%3Ac",
            ),
        ),
    ],
)
def test_without_the_path_as_sent_the_usual_encodings_are_tried(decoded, expected):
    assert signed_targets({"QUERY_STRING": ""}, decoded) == expected


def test_a_raw_uri_in_absolute_form_gives_its_path():
    meta = {"RAW_URI": "http://example.com/api/v1/orders/%22{1}%22?x=1", "QUERY_STRING": "x=1"}

    assert signed_targets(meta, '/api/v1/orders/"1"') == ("/api/v1/orders/%22{1}%22?x=1",)
