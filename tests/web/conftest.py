"""The real stack for browser and market-maker tests: daphne and the workers, in subprocesses.

daphne serves the page, /api/v1 and /ws/ as in `make run` (DEBUG on, so the
static files come straight from the apps); one accounts worker and the
matching worker of BTC/USDT's shard run as `manage.py` processes and share
the test's database and Redis prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from exchange.api.keys import key_cache
from exchange.models import Balance, Market
from exchange.pipeline.order_entry import OrderEntry
from exchange.routing import SymbolRouter
from tests.pipeline.processes import WorkerProcess, stop_all, wait_for
from tests.realtime.server import Daphne

# Waits for something the stack does; long, so that a loaded machine only makes the test slower.
STACK_TIMEOUT_S = 60


@dataclass
class Stack:
    daphne: Daphne
    workers: list[WorkerProcess]
    entry: OrderEntry

    def deposit(self, user: User, asset: str, amount: str) -> None:
        """A deposit as the admin's form queues it; returns once the accounts worker has stored it."""
        self.entry.change_funds(user.pk, asset, "DEPOSIT", Decimal(amount), "test", None)
        funded = Balance.objects.filter(user=user, asset__code=asset, available__gte=Decimal(amount))
        wait_for(
            funded.exists,
            STACK_TIMEOUT_S,
            what=f"{user.username}'s {asset} deposit",
        )

    def logs(self) -> str:
        return "\n".join([self.daphne.log(), *(worker.log() for worker in self.workers)])


@pytest.fixture(autouse=True)
def web_settings(settings: Any, redis_prefix: str, transactional_db: Any) -> Iterator[None]:
    """Committed data (the subprocesses read it) and a generous rate limit."""
    settings.API_RATE_LIMIT_PER_S = 10_000
    settings.API_RATE_LIMIT_BURST = 10_000
    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture
def fee_account(transactional_db: Any) -> User:
    return User.objects.create_user(settings.FEE_ACCOUNT_USERNAME)


@pytest.fixture
def stack(
    transactional_db: Any, btc_usdt: Market, fee_account: User, redis_conn: redis.Redis, tmp_path: Path
) -> Iterator[Stack]:
    shard = SymbolRouter.from_settings().shard_for_market(btc_usdt)
    workers = [WorkerProcess("accounts", 0, tmp_path), WorkerProcess("matching", shard, tmp_path)]
    daphne = Daphne(tmp_path, DEBUG="1", WS_TICKER_INTERVAL_MS="100")
    try:
        for worker in workers:
            worker.start()
        daphne.start()
        yield Stack(daphne, workers, OrderEntry(redis_conn))
    finally:
        daphne.stop()
        stop_all(workers)
