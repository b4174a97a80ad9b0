"""A client order id names one order while it is open and for a window after it was placed (ADR 0015).

Tests that need the window passed use a one-second window and wait for the
entry clock (Redis's) to pass it; tests that need to stay within it use an
hour. Neither depends on the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command

from exchange.api.order_lookup import find_order_by_client_id
from exchange.models import Order, OrderStatus
from exchange.pipeline.client_order_ids import RecentClientOrderIds
from exchange.pipeline.ids import accepted_ms_of
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.workers import AccountsWorker
from tests.pipeline.conftest import Pipeline, user_feed

WINDOW_S = 1
LONG_WINDOW_S = 3600


# ------------------------------------------------------------------ the window alone


def test_an_id_is_remembered_for_the_window_and_then_forgotten() -> None:
    recent = RecentClientOrderIds(1000)
    recent.add((1, "a"), 5_000)

    assert recent.placed_within((1, "a"), 5_999)
    assert not recent.placed_within((2, "a"), 5_999)
    assert not recent.placed_within((1, "a"), 6_000)
    assert len(recent) == 0


def test_an_id_placed_again_counts_from_its_newest_place() -> None:
    recent = RecentClientOrderIds(1000)
    recent.add((1, "a"), 5_000)
    recent.add((1, "a"), 5_800)

    assert recent.placed_within((1, "a"), 6_500)  # the first place's turn to go does not take the second
    assert not recent.placed_within((1, "a"), 6_800)


def test_places_loaded_out_of_order_are_kept_in_time_order() -> None:
    recent = RecentClientOrderIds(1000, [(5_900, (1, "late")), (5_000, (1, "early"))])

    assert not recent.placed_within((1, "early"), 6_000)
    assert recent.placed_within((1, "late"), 6_000)


# ------------------------------------------------------------------ the accounts stage


def windowed_pipeline(redis_conn: redis.Redis, settings: Any, window_s: int) -> Iterator[Pipeline]:
    settings.STREAM_TRIM_COMMITTED = False
    settings.WORKER_BLOCK_MS = 2
    settings.CLIENT_ORDER_ID_WINDOW_S = window_s
    line = Pipeline(redis_conn)
    yield line
    line.stop()


@pytest.fixture
def windowed(
    transactional_db: Any,
    redis_conn: redis.Redis,
    btc_usdt: Any,
    eth_usdt: Any,
    fee_account: Any,
    settings: Any,
) -> Iterator[Pipeline]:
    """A one-second window, for what happens once it has passed."""
    yield from windowed_pipeline(redis_conn, settings, WINDOW_S)


@pytest.fixture
def long_windowed(
    transactional_db: Any,
    redis_conn: redis.Redis,
    btc_usdt: Any,
    eth_usdt: Any,
    fee_account: Any,
    settings: Any,
) -> Iterator[Pipeline]:
    """An hour's window, for what happens within it, however slow the machine."""
    yield from windowed_pipeline(redis_conn, settings, LONG_WINDOW_S)


def wait_past_window(client: redis.Redis, order_id: int) -> None:
    """Until Redis's clock, which times the entries, is a window past the order's place."""
    while True:
        seconds, micros = client.time()
        if seconds * 1000 + micros // 1000 > accepted_ms_of(order_id) + WINDOW_S * 1000:
            return
        time.sleep(0.05)


def lose_claim(pipeline: Pipeline, user: Any, cid: str) -> None:
    """As Redis may (STREAM_DURABILITY=NONE): the API's claim is gone, the stage must still refuse."""
    pipeline.redis.delete(accounts_keys(0).client_order_id(user.pk, cid))


def verdicts(pipeline: Pipeline, user: Any, order_id: int) -> list[tuple[str, str]]:
    return [
        (u["status"], u.get("reject_reason") or "")
        for u in user_feed(pipeline.redis, user)
        if u.get("type") == "order" and u["order_id"] == str(order_id)
    ]


def rest_and_cancel(pipeline: Pipeline, user: Any, cid: str) -> int:
    first = pipeline.place(user, "BTC/USDT", "BUY", price="100", quantity="0.1", cid=cid)
    pipeline.run()
    pipeline.entry.cancel(user.pk, first)
    pipeline.run()
    assert Order.objects.get(pk=first).status == OrderStatus.CANCELED
    return first


def test_an_open_orders_id_is_refused_after_the_window(windowed: Pipeline, alice: Any) -> None:
    windowed.deposit(alice, "USDT", "1000")
    windowed.run()
    first = windowed.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.1", cid="x")
    windowed.run()
    wait_past_window(windowed.redis, first)

    second = windowed.place(alice, "BTC/USDT", "BUY", price="99", quantity="0.1", cid="x")
    windowed.run()

    assert second != first  # the claim had expired: a new entry
    assert verdicts(windowed, alice, second) == [("REJECTED", "DUPLICATE_CLIENT_ORDER_ID")]
    assert list(Order.objects.filter(client_order_id="x").values_list("pk", "status")) == [(first, "NEW")]


def test_a_done_orders_id_is_refused_within_the_window(long_windowed: Pipeline, alice: Any) -> None:
    long_windowed.deposit(alice, "USDT", "1000")
    long_windowed.run()
    first = rest_and_cancel(long_windowed, alice, "x")
    lose_claim(long_windowed, alice, "x")

    second = long_windowed.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.1", cid="x")
    long_windowed.run()

    assert verdicts(long_windowed, alice, second) == [("REJECTED", "DUPLICATE_CLIENT_ORDER_ID")]
    assert list(Order.objects.filter(client_order_id="x").values_list("pk", flat=True)) == [first]


def test_a_done_orders_id_names_a_new_order_after_the_window(windowed: Pipeline, alice: Any) -> None:
    windowed.deposit(alice, "USDT", "1000")
    windowed.run()
    first = rest_and_cancel(windowed, alice, "x")
    wait_past_window(windowed.redis, first)

    second = windowed.place(alice, "BTC/USDT", "BUY", price="98", quantity="0.1", cid="x")
    windowed.run()

    assert verdicts(windowed, alice, second) == [("NEW", "")]
    stored = list(Order.objects.filter(client_order_id="x").order_by("pk").values_list("pk", "status"))
    assert stored == [(first, "CANCELED"), (second, "NEW")]
    assert find_order_by_client_id(alice.pk, "x").order_id == second
    call_command("audit", "--attempts", "1")  # exits non-zero on damage


def test_a_restarted_accounts_worker_refuses_as_the_first_one_did(
    long_windowed: Pipeline, alice: Any
) -> None:
    long_windowed.deposit(alice, "USDT", "1000")
    long_windowed.run()
    done = rest_and_cancel(long_windowed, alice, "done")
    rejected = long_windowed.place(alice, "BTC/USDT", "BUY", price="100", quantity="999", cid="poor")
    long_windowed.run()
    assert verdicts(long_windowed, alice, rejected) == [("REJECTED", "INSUFFICIENT_FUNDS")]
    long_windowed.workers[0].shutdown()
    long_windowed.workers[0] = AccountsWorker(0, long_windowed.redis)
    assert long_windowed.workers[0].become_leader()  # loads what it remembers from the database
    for cid in ("done", "poor"):
        lose_claim(long_windowed, alice, cid)

    again = [
        long_windowed.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.1", cid=cid)
        for cid in ("done", "poor")
    ]
    long_windowed.run()

    assert [verdicts(long_windowed, alice, order_id) for order_id in again] == [
        [("REJECTED", "DUPLICATE_CLIENT_ORDER_ID")]
    ] * 2
    assert done in Order.objects.filter(client_order_id="done").values_list("pk", flat=True)


def test_the_api_claim_lives_as_long_as_the_window(long_windowed: Pipeline, alice: Any) -> None:
    long_windowed.place(alice, "BTC/USDT", "BUY", price="100", quantity="0.1", cid="x")

    ttl = long_windowed.redis.ttl(accounts_keys(0).client_order_id(alice.pk, "x"))

    # A generous margin below: the claim was set a moment ago, however slow that moment was.
    assert LONG_WINDOW_S - 600 < ttl <= django_settings.CLIENT_ORDER_ID_WINDOW_S == LONG_WINDOW_S
