"""Against a real daphne and a real granian: what each does to a request, and what the API answers.

The in-process tests cannot show what a server does before the application
sees the request: daphne decodes the path and keeps the bytes as raw_path,
granian decodes it and keeps nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.servers import ServedApi
from tests.api.support import SignedClient, limit_buy, persist_order

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_ID = (3_000_000_000 << 22) | (5 << 10)


@pytest.fixture(params=["daphne", "granian"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedApi]:
    server = ServedApi(request.param, tmp_path).start()
    yield server
    server.stop()


def test_paths_and_queries_are_verified_as_sent(served, alice_key, alice, btc_usdt):
    persist_order(alice, btc_usdt, ORDER_ID)
    trader = SignedClient(served.send, alice_key)

    encoded_path = trader.get("/api/v1/orders/by-client-id/a%20b")
    quoted_id = trader.get(f"/api/v1/orders/%22{ORDER_ID}%22")
    encoded_query = trader.get("/api/v1/orders?market=BTC%2FUSDT")
    placed = trader.post("/api/v1/orders?via=%2Fapi", limit_buy())

    assert (encoded_path.status_code, encoded_path.json()["code"]) == (400, "INVALID_VALUE")
    assert (quoted_id.status_code, quoted_id.json()["order_id"]) == (200, str(ORDER_ID))
    assert [order["order_id"] for order in encoded_query.json()["items"]] == [str(ORDER_ID)]
    assert placed.status_code == 202, placed.content


def test_unknown_routes_and_methods_answer_json(served, alice_key, btc_usdt):
    trader = SignedClient(served.send, alice_key)

    missing = trader.post("/api/v1/nothing-here", limit_buy())
    wrong_method = trader.request("PUT", "/api/v1/orders", limit_buy())

    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    allowed = {method.strip() for method in wrong_method.headers["Allow"].split(",")}
    assert allowed == {"GET", "POST", "DELETE"}
