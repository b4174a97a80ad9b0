"""Leases, standbys, fencing and graceful stops, with real worker processes where it matters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from exchange.models import Balance, Order
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
from exchange.pipeline.workers import AccountsWorker
from persistence.models import StreamOffset
from persistence.offsets import Fenced
from tests.pipeline.processes import WorkerProcess, stop_all, wait_for
from tests.pipeline.quiescence import wait_until_quiet

User = get_user_model()


def place(entry: OrderEntry, user, cid: str) -> int:
    request = PlaceRequest(
        user.pk, cid, "BTC/USDT", "BUY", "LIMIT", price=Decimal("90"), quantity=Decimal("0.1")
    )
    return entry.place(request).order_id


@pytest.fixture
def funded_alice(transactional_db, redis_conn, btc_usdt, settings):
    User.objects.create_user(settings.FEE_ACCOUNT_USERNAME)
    alice = User.objects.create_user("alice")
    OrderEntry(redis_conn).change_funds(alice.pk, "USDT", "DEPOSIT", Decimal("100000"), "test", None)
    return alice


@pytest.mark.timeout(300)
def test_a_standby_takes_over_when_the_leader_dies(funded_alice, redis_conn, tmp_path):
    # How fast is a benchmark's question (the lease TTL plus the standby's poll), not a test's:
    # a loaded machine must pass too.
    entry = OrderEntry(redis_conn)
    matching = WorkerProcess("matching", 1, tmp_path).start()
    leader = WorkerProcess("accounts", 0, tmp_path).start()
    workers = [matching, leader]  # stopped however the test ends: none left to write into the next
    try:
        wait_for(lambda: redis_conn.get(accounts_keys(0).lease), 120, what="a leader")
        standby = WorkerProcess("accounts", 0, tmp_path, standby=True).start()
        workers.append(standby)
        first = place(entry, funded_alice, "before")
        wait_for(lambda: Order.objects.filter(pk=first).exists(), 120, what="the first order")
        wait_for(
            lambda: redis_conn.zcard(accounts_keys(0).standbys), 120, what="the standby to wait for the lease"
        )
        leader.kill()
        second = place(entry, funded_alice, "after")
        wait_for(lambda: Order.objects.filter(pk=second).exists(), 120, what="the standby to take over")
        assert "is leader (epoch 2)" in standby.log()
    finally:
        stop_all(workers)


def test_a_leader_that_lost_its_lease_cannot_commit(funded_alice, redis_conn):
    stale = AccountsWorker(0, redis_conn)
    assert stale.become_leader()
    # The stale leader stalls past its TTL; another worker takes the lease.
    redis_conn.delete(accounts_keys(0).lease)
    successor = AccountsWorker(0, redis_conn)
    successor.consumer = "successor"
    successor.lease.holder = "successor"
    assert successor.become_leader()
    assert successor.lease.epoch > stale.lease.epoch

    place(OrderEntry(redis_conn), funded_alice, "during-the-stall")
    stale._send()
    entries = stale._read()
    assert entries
    stale._apply(entries)
    with pytest.raises(Fenced):
        stale._commit()
    assert not Balance.objects.exists()
    assert StreamOffset.objects.get(consumer="accounts-0").lease_epoch == successor.lease.epoch
    successor.shutdown()


@pytest.mark.timeout(120)
def test_sigterm_commits_what_was_read_releases_the_lease_and_loses_nothing(
    funded_alice, redis_conn, tmp_path
):
    entry = OrderEntry(redis_conn)
    accounts = WorkerProcess("accounts", 0, tmp_path).start()
    matching = WorkerProcess("matching", 1, tmp_path).start()
    workers = [accounts, matching]  # stopped however the test ends: none left to write into the next
    try:
        wait_for(lambda: redis_conn.get(accounts_keys(0).lease), 30, what="a leader")
        orders = [place(entry, funded_alice, f"o{n}") for n in range(200)]
        assert accounts.terminate() == 0
        assert redis_conn.get(accounts_keys(0).lease) is None
        assert "accounts-0 exiting: stopped by signal" in accounts.log()
        restarted = WorkerProcess("accounts", 0, tmp_path).start()
        workers.append(restarted)
        wait_until_quiet(
            redis_conn,
            {"accounts-0": accounts_keys(0).stream, "matching-1": matching_keys(1).stream},
            timeout=60,
        )
        assert Order.objects.filter(pk__in=orders).count() == 200
        balance = Balance.objects.get(user=funded_alice, asset__code="USDT")
        assert balance.locked == 200 * Decimal("9.009")
    finally:
        stop_all(workers)
