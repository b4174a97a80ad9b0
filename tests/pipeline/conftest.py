"""An in-process pipeline: one accounts worker and the matching workers, stepped by the test."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.conf import settings

from exchange.models import Asset, Market
from exchange.pipeline.order_entry import OrderEntry, PlaceRequest
from exchange.pipeline.worker import StageWorker
from exchange.pipeline.workers import AccountsWorker, MatchingWorker
from tests.conftest import make_market

AMOUNTS = ("price", "quantity", "quote_quantity", "stop_price", "display_quantity")


class Pipeline:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self.entry = OrderEntry(client)
        self.workers: list[StageWorker] = [AccountsWorker(0, client)] + [
            MatchingWorker(shard, client) for shard in (1, 2, 3, 4)
        ]
        for worker in self.workers:
            assert worker.become_leader(), worker.name

    def run(self, max_rounds: int = 50) -> None:
        """Step every worker until none has work, then commit everything."""
        for worker in self.workers:
            worker.waits_in_read = False  # stepped here until none has work
        for _ in range(max_rounds):
            busy = False
            for worker in self.workers:
                busy |= worker.step()
            if not busy:
                break
        else:
            raise AssertionError("the pipeline did not settle")
        for worker in self.workers:
            worker._commit()

    def place(self, user: Any, symbol: str, side: str, type: str = "LIMIT", **fields: Any) -> int:
        request = PlaceRequest(
            user_id=user.pk,
            client_order_id=fields.pop("cid", f"{side}-{symbol}-{self._next_cid()}"),
            symbol=symbol,
            side=side,
            type=type,
            **{k: (Decimal(v) if k in AMOUNTS else v) for k, v in fields.items()},  # type: ignore[arg-type]
        )
        return self.entry.place(request).order_id

    def _next_cid(self) -> int:
        """A number for the next made-up client order id, counted under the test's own key prefix."""
        return int(self.redis.incr(f"{settings.REDIS_KEY_PREFIX}:test-cid"))

    def deposit(self, user: Any, asset: str, amount: str) -> None:
        self.entry.change_funds(user.pk, asset, "DEPOSIT", Decimal(amount), "test", None)

    def stop(self) -> None:
        for worker in self.workers:
            worker.shutdown()


def user_feed(client: redis.Redis, user: Any) -> list[dict[str, Any]]:
    """Every event on a user's events stream, in order (one entry per worker batch, one event per field)."""
    import json

    entries: Any = client.xrange(f"{settings.REDIS_KEY_PREFIX}:user:{user.pk}:events")
    # Field "s" is the entry's first seq (exchange/pipeline/user_events.py), the others its events.
    return [json.loads(value) for _, fields in entries for name, value in fields.items() if name != b"s"]


@pytest.fixture
def eth_usdt(usdt: Asset) -> Market:
    return make_market("ETH", "USDT")


@pytest.fixture
def fee_account(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(settings.FEE_ACCOUNT_USERNAME)


@pytest.fixture
def pipeline(
    transactional_db: Any,
    redis_conn: redis.Redis,
    btc_usdt: Market,
    eth_usdt: Market,
    fee_account: Any,
    settings: Any,
) -> Iterator[Pipeline]:
    settings.STREAM_TRIM_COMMITTED = False
    settings.WORKER_BLOCK_MS = 2
    line = Pipeline(redis_conn)
    yield line
    line.stop()
