"""How long an idle worker's read blocks: until its next duty, not a fixed short poll."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from exchange.pipeline.expiry_clock import TICK_INTERVAL_MS
from exchange.pipeline.workers import AccountsWorker, MatchingWorker
from tests.pipeline.checks import funded_and_checked

EXPIRE_AT_MS = 4_102_444_800_000


def matching_worker(line: Any) -> MatchingWorker:
    return next(w for w in line.workers if isinstance(w, MatchingWorker) and w.name == "matching-1")


def test_an_idle_worker_waits_the_setting_but_wakes_in_time_to_renew_its_lease(pipeline, settings):
    settings.WORKER_BLOCK_MS = 600_000
    accounts = next(w for w in pipeline.workers if isinstance(w, AccountsWorker))
    renew_every_ms = settings.WORKER_LEASE_TTL_MS / 5
    assert 0 < accounts._block_ms() <= renew_every_ms + 1
    settings.WORKER_BLOCK_MS = 7
    assert accounts._block_ms() == 7


def test_the_default_block_is_no_longer_than_the_lease_renewal_interval():
    # Renewal every TTL / 5 keeps a worker's lease through a whole read at the defaults.
    assert settings.WORKER_BLOCK_MS <= settings.WORKER_LEASE_TTL_MS / 5


@pytest.fixture
def funded(pipeline, alice):
    yield from funded_and_checked(pipeline, [(alice, "USDT", "10000")])


def test_an_idle_matching_worker_wakes_when_a_good_till_date_order_is_due(funded, alice, settings):
    settings.WORKER_BLOCK_MS = 600_000
    settings.WORKER_LEASE_TTL_MS = 3_600_000  # the lease is not what wakes it here
    worker = matching_worker(funded)
    clock = {"now": EXPIRE_AT_MS - 10 * TICK_INTERVAL_MS}
    worker.expiry_clock.now_ms = lambda: clock["now"]
    assert worker.next_duty_in_ms() is None
    funded.place(
        alice,
        "BTC/USDT",
        "BUY",
        price="90.00",
        quantity="0.1",
        time_in_force="GTD",
        expire_at_ms=EXPIRE_AT_MS,
    )
    funded.run()
    assert worker._block_ms() == 10 * TICK_INTERVAL_MS
    clock["now"] = EXPIRE_AT_MS - 300
    assert worker._block_ms() == 300
    clock["now"] = EXPIRE_AT_MS + 5
    assert worker._block_ms() == 1  # due: the next idle step writes the tick
    assert worker._stage is not None and worker.expiry_clock.tick(worker._stage.soonest_expiry)
    # Ticked: not again within the interval, so the read need not spin meanwhile.
    assert worker._block_ms() == TICK_INTERVAL_MS
    funded.run()
    assert worker.next_duty_in_ms() is None  # expired: nothing more to wake for
