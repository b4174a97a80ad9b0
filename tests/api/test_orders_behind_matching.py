"""An acknowledged order can be found and cancelled while its matching worker is down or behind.

Streams are trimmed as by default: the accounts worker commits (and trims)
while matching, stopped here, has not yet written the order's row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from exchange.api.order_lookup import entry_id_of
from exchange.models import Market, Order
from exchange.pipeline.keys import accounts_keys
from tests.api.support import limit_buy
from tests.pipeline.conftest import Pipeline

# Redis trims a stream by whole nodes (up to 100 entries each): enough entries after the
# order that a trim at the accounts worker's commit reaches it.
FILLER = 300


@pytest.fixture
def line(
    transactional_db: Any, redis_conn: redis.Redis, btc_usdt: Market, settings: Any
) -> Iterator[Pipeline]:
    get_user_model().objects.create_user(django_settings.FEE_ACCOUNT_USERNAME)
    settings.STREAM_TRIM_COMMITTED = True
    settings.STREAM_TRIM_INTERVAL_MS = 0  # trim after every commit, as the test reads it
    settings.WORKER_BLOCK_MS = 2
    pipeline = Pipeline(redis_conn)
    yield pipeline
    pipeline.stop()


def run_accounts_only(line: Pipeline) -> None:
    """The accounts worker applies and commits everything; the matching workers stay stopped."""
    accounts = line.workers[0]
    while accounts.step():
        pass
    accounts._commit()


def entry_of(line: Pipeline, entry_id: str) -> list[Any]:
    entries: Any = line.redis.xrange(accounts_keys(0).stream, entry_id, entry_id)
    return list(entries)


def test_an_order_matching_has_not_written_is_found_and_cancelled(line, alice, alice_api):
    line.deposit(alice, "USDT", "100000")
    line.run()
    placed = alice_api.post("/api/v1/orders", limit_buy(client_order_id="behind")).json()
    order_id = placed["order_id"]
    for _ in range(FILLER):
        line.deposit(alice, "USDT", "1")
    run_accounts_only(line)
    assert not Order.objects.filter(pk=order_id).exists()

    found = alice_api.get(f"/api/v1/orders/{order_id}")
    assert found.status_code == 200, found.json()
    assert found.json()["status"] == "PENDING_NEW"
    assert alice_api.get("/api/v1/orders/by-client-id/behind").json()["order_id"] == order_id
    amended = alice_api.patch(f"/api/v1/orders/{order_id}", {"price": "29000.00"})
    assert amended.status_code == 202, amended.json()
    cancelled = alice_api.delete(f"/api/v1/orders/{order_id}")
    assert cancelled.status_code == 202, cancelled.json()

    line.run()  # matching resumes
    order = Order.objects.get(pk=order_id)
    assert order.status == "CANCELED"
    assert order.price == 29000


def test_the_accounts_stream_is_still_trimmed_once_matching_has_committed(line, alice, alice_api):
    line.deposit(alice, "USDT", "100000")
    line.run()
    placed = alice_api.post("/api/v1/orders", limit_buy(client_order_id="caught-up")).json()
    line.run()
    assert Order.objects.filter(pk=placed["order_id"]).exists()
    for _ in range(FILLER):
        line.deposit(alice, "USDT", "1")
    line.run()

    assert entry_of(line, entry_id_of(int(placed["order_id"]))[0]) == []
