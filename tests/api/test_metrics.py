"""The order-latency histogram is exported on /metrics."""

from __future__ import annotations

import pytest

from tests.api.support import limit_buy

pytestmark = pytest.mark.django_db


def _count(text: str, path: str, status: str) -> float:
    prefix = f'spot_api_order_seconds_count{{path="{path}",status="{status}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_each_placed_order_is_timed_by_path_and_status(alice_any_path, btc_usdt, client, transport):
    path = "lean" if "wsgi" in transport.__qualname__ else "django"
    before = client.get("/metrics").content.decode()

    alice_any_path.post("/api/v1/orders", limit_buy())
    alice_any_path.post("/api/v1/orders", limit_buy(price="0.001"))

    after = client.get("/metrics").content.decode()
    assert _count(after, path, "202") == _count(before, path, "202") + 1
    assert _count(after, path, "400") == _count(before, path, "400") + 1
