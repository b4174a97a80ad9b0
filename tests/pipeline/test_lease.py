"""A leader's lease: kept across a stall nobody used, lost to a worker that took over."""

from __future__ import annotations

import math

from exchange.models import Order
from exchange.pipeline.workers import AccountsWorker


def expire_leases(pipeline) -> None:
    """Every worker's lease expires (a slow start, a pause) and each worker notices at its next step."""
    for worker in pipeline.workers:
        pipeline.redis.delete(worker.keys.lease)
        worker._lease_renewed_at = -math.inf


def test_a_leader_whose_lease_expired_unclaimed_takes_it_back_and_goes_on(pipeline, alice, bob):
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    expire_leases(pipeline)

    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5")
    pipeline.run()

    assert Order.objects.get(pk=sell).status == "FILLED"
    assert Order.objects.get(pk=buy).status == "FILLED"
    for worker in pipeline.workers:
        assert pipeline.redis.get(worker.keys.lease).decode() == worker.consumer


def test_a_leader_whose_lease_another_worker_took_stands_down(pipeline):
    accounts = pipeline.workers[0]
    pipeline.redis.delete(accounts.keys.lease)
    successor = AccountsWorker(0, pipeline.redis)
    successor.consumer = successor.lease.holder = "successor"
    assert successor.become_leader()
    successor.shutdown()  # gone again: the lease is free, but its epoch is not the stale leader's
    accounts._lease_renewed_at = -math.inf

    assert not accounts.step()
    assert accounts.stage is None
    assert pipeline.redis.get(accounts.keys.lease) is None
    pipeline.workers.remove(accounts)
