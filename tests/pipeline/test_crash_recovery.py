"""Kill real workers with SIGKILL while orders flow; nothing is lost, nothing is doubled.

It runs with streams trimmed as by default, where every acknowledged order
must stay findable throughout, and with trimming off, where the whole input
streams are replayed at the end and must rebuild the same books.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from exchange.api.errors import NotFound
from exchange.api.order_lookup import find_order
from exchange.models import Order, Trade
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.loading import load_books
from exchange.pipeline.markets import load_markets
from exchange.pipeline.messages import decode
from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
from persistence.offsets import load_position
from tests.conftest import make_market
from tests.pipeline.checks import (
    assert_ledger_explains_balances,
    assert_money_is_conserved,
    assert_no_funds_locked_without_open_orders,
    assert_orders_agree_with_trades,
)
from tests.pipeline.processes import WorkerProcess, stop_all, wait_for
from tests.pipeline.quiescence import wait_until_quiet
from tests.pipeline.replay import book_difference, replay_matching_stream

User = get_user_model()
ORDERS = 1500
KILLS = 6
# A killed leader's lease must expire before its restart can lead; keep that short here.
FAST_LEASE: dict[str, Any] = {"WORKER_LEASE_TTL_MS": "1000", "WORKER_STANDBY_POLL_MS": "100"}


def random_order(
    rng: random.Random, users: list[Any], symbol: str, placed: list[tuple[int, int]], entry: OrderEntry
):
    user = rng.choice(users)
    roll = rng.random()
    if roll < 0.15 and placed:
        user_id, order_id = rng.choice(placed)
        entry.cancel(user_id, order_id)
        return None
    side = rng.choice(["BUY", "SELL"])
    mid = 100 if symbol == "BTC/USDT" else 50
    price = Decimal(mid + rng.randint(-5, 5))
    quantity = Decimal(rng.randint(1, 50)) / 100
    fields: dict[str, Any] = {"type": "LIMIT", "price": price, "quantity": quantity}
    if roll < 0.25:
        fields = (
            {"type": "MARKET", "quantity": quantity}
            if side == "SELL"
            else {
                "type": "MARKET",
                "quote_quantity": Decimal(rng.randint(5, 40)),
            }
        )
    elif roll < 0.32:
        fields["time_in_force"] = rng.choice(["IOC", "FOK"])
    elif roll < 0.36:
        fields["post_only"] = True
    elif roll < 0.40:  # an iceberg showing a quarter
        fields["display_quantity"] = quantity / 4
    elif roll < 0.44:  # good till a moment from now: expired by a later command or the clock tick
        fields["time_in_force"] = "GTD"
        fields["expire_at_ms"] = time.time_ns() // 1_000_000 + rng.randint(200, 3000)
    elif roll < 0.50:  # a stop a few ticks beyond the middle, so some trigger
        away = Decimal(rng.randint(1, 4))
        stop = mid + away if side == "BUY" else mid - away
        if rng.random() < 0.5:
            fields = {"type": "STOP_LIMIT", "price": stop, "quantity": quantity, "stop_price": stop}
        elif side == "SELL":
            fields = {"type": "STOP_MARKET", "quantity": quantity, "stop_price": stop}
        else:
            fields = {
                "type": "STOP_MARKET",
                "quote_quantity": Decimal(rng.randint(5, 40)),
                "stop_price": stop,
            }
    request = PlaceRequest(
        user_id=user.pk, client_order_id=f"c{rng.getrandbits(48)}", symbol=symbol, side=side, **fields
    )
    placed_order = entry.place(request)
    return user.pk, placed_order.order_id


def assert_findable(rng: random.Random, acknowledged: list[tuple[int, int]]) -> None:
    """The newest acknowledged orders and a sample of the older ones: each can be looked up."""
    sample = acknowledged[-25:] + rng.sample(acknowledged, min(25, len(acknowledged)))
    for user_id, order_id in sample:
        try:
            find_order(user_id, order_id)
        except NotFound:
            raise AssertionError(f"acknowledged order {order_id} answers ORDER_NOT_FOUND") from None


@pytest.mark.cluster(only={"trimmed": True})
@pytest.mark.timeout(900)
@pytest.mark.parametrize("trimmed", [True, False], ids=["trimmed", "kept"])
def test_killing_workers_at_random_loses_and_doubles_nothing(
    transactional_db, redis_conn, btc_usdt, tmp_path, settings, trimmed
):
    settings.STREAM_TRIM_COMMITTED = trimmed
    env = {**FAST_LEASE, "STREAM_TRIM_COMMITTED": "1" if trimmed else "0"}
    make_market("ETH", "USDT")
    User.objects.create_user(settings.FEE_ACCOUNT_USERNAME)
    users = [User.objects.create_user(f"trader{n}") for n in range(5)]
    entry = OrderEntry(redis_conn)
    for user in users:
        entry.change_funds(user.pk, "USDT", "DEPOSIT", Decimal("100000"), "crash-test", None)
        entry.change_funds(user.pk, "BTC", "DEPOSIT", Decimal("50"), "crash-test", None)
        entry.change_funds(user.pk, "ETH", "DEPOSIT", Decimal("100"), "crash-test", None)

    workers = {
        "accounts-0": WorkerProcess("accounts", 0, tmp_path, **env).start(),
        "matching-1": WorkerProcess("matching", 1, tmp_path, **env).start(),
        "matching-2": WorkerProcess("matching", 2, tmp_path, **env).start(),
    }
    rng = random.Random(20261125)
    sampling = random.Random(3)
    acknowledged: list[tuple[int, int]] = []
    stop_killing = threading.Event()
    kills: list[str] = []

    epoch_keys = {
        "accounts-0": accounts_keys(0).epoch,
        "matching-1": matching_keys(1).epoch,
        "matching-2": matching_keys(2).epoch,
    }

    def killer() -> None:
        killer_rng = random.Random(7)
        while not stop_killing.is_set() and len(kills) < KILLS:
            time.sleep(killer_rng.uniform(0.3, 1.2))
            name = killer_rng.choice(sorted(workers))
            epoch = int(redis_conn.get(epoch_keys[name]) or 0)
            workers[name].kill()
            kills.append(name)
            workers[name] = WorkerProcess(workers[name].kind, workers[name].shard, tmp_path, **env).start()
            # Each kill hits a worker that leads and works: wait for the takeover.
            key, before = epoch_keys[name], epoch
            # A worker process starts in seconds, or in tens of seconds on a loaded machine.
            wait_for(lambda: int(redis_conn.get(key) or 0) > before, 180, what=f"{name} to lead")  # noqa: B023

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        # Orders keep flowing until every kill has happened, so each kill lands mid-flow.
        n = 0
        while n < ORDERS or thread.is_alive():
            symbol = "BTC/USDT" if n % 3 else "ETH/USDT"
            placed = random_order(rng, users, symbol, acknowledged, entry)
            if placed:
                acknowledged.append(placed)
            n += 1
            if n % 25 == 0:
                if trimmed:
                    assert_findable(sampling, acknowledged)
                time.sleep(0.1)
        thread.join(timeout=120)
        stop_killing.set()
        consumers = {
            "accounts-0": accounts_keys(0).stream,
            "matching-1": matching_keys(1).stream,
            "matching-2": matching_keys(2).stream,
        }
        wait_until_quiet(redis_conn, consumers, timeout=120)
    finally:
        stop_killing.set()
        thread.join(timeout=30)
        stop_all(workers.values())
    assert len(kills) == KILLS
    assert n >= ORDERS

    # Every acknowledged order is there exactly once.
    stored = set(Order.objects.values_list("id", flat=True))
    assert {order_id for _, order_id in acknowledged} <= stored
    assert_orders_agree_with_trades()
    assert_ledger_explains_balances()
    assert_money_is_conserved()
    assert_no_funds_locked_without_open_orders()
    assert Trade.objects.exists()
    if trimmed:
        assert redis_conn.xlen(accounts_keys(0).stream) < n  # trimming did happen
        return

    # The books the database holds equal books rebuilt by replaying the input streams up to
    # where each worker committed. An idle worker may write a clock tick (ADR 0013) into its own
    # stream just before it stops: that tick is read by the next leader, not by this database.
    markets = load_markets()
    for shard in (1, 2):
        mine = {symbol: rules for symbol, rules in markets.items() if rules.shard == shard}
        from_db, _, _ = load_books(mine)
        committed = load_position(f"matching-{shard}").last_entry_id
        replayed = replay_matching_stream(redis_conn, shard, mine, committed)
        assert_only_clock_ticks_after(redis_conn, shard, committed)
        for symbol in mine:
            rebuilt, replayed_book = from_db[symbol], replayed.books[symbol]
            assert rebuilt.state_hash() == replayed_book.state_hash(), (
                f"{symbol}: {book_difference(rebuilt, replayed_book)}"
            )
        assert (
            set(Trade.objects.filter(market__symbol__in=mine).values_list("id", flat=True))
            == replayed.trade_ids
        )


def assert_only_clock_ticks_after(redis_conn, shard: int, committed: str) -> None:
    tail = redis_conn.xrange(matching_keys(shard).stream, min=f"({committed}", max="+")
    producers = {decode(fields)["p"] for _, fields in tail}
    assert producers <= {f"clock-{shard}"}, f"entries after the committed {committed}: {producers}"
