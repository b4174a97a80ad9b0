"""WebSocket fixtures: API keys for the personas, Redis stream helpers, a real daphne."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from exchange.api.keys import key_cache
from exchange.models import Market
from exchange.services.api_keys import IssuedKey, issue_api_key
from tests.pipeline.conftest import Pipeline
from tests.realtime.server import Daphne
from tests.realtime.support import EventSource


@pytest.fixture(autouse=True)
def ws_settings(settings: Any, redis_prefix: str, transactional_db: Any) -> Iterator[None]:
    """Every test gets its own Redis prefix, quick readers and a generous rate limit.

    Consumers reach the database from a worker thread (database_sync_to_async closes
    stale connections), so the tests commit their data: transactional_db, not db.
    """
    settings.WS_READ_BLOCK_MS = 50
    settings.WS_TICKER_INTERVAL_MS = 50
    settings.API_RATE_LIMIT_PER_S = 10_000
    settings.API_RATE_LIMIT_BURST = 10_000
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture
def alice_key(alice: User) -> IssuedKey:
    return issue_api_key(alice, "alice bot", can_read=True, can_trade=True)


@pytest.fixture
def bob_key(bob: User) -> IssuedKey:
    return issue_api_key(bob, "bob bot", can_read=True, can_trade=True)


@pytest.fixture
def events(redis_conn: redis.Redis) -> EventSource:
    """Writes what the workers write, where they write it, for the consumer tests."""
    return EventSource(redis_conn)


@pytest.fixture
def market(transactional_db: Any, btc_usdt: Market) -> Market:
    return btc_usdt


@pytest.fixture
def fee_account(transactional_db: Any) -> User:
    return User.objects.create_user(settings.FEE_ACCOUNT_USERNAME)


@pytest.fixture
def pipeline(
    transactional_db: Any, redis_conn: redis.Redis, btc_usdt: Market, fee_account: User, settings: Any
) -> Iterator[Pipeline]:
    """The accounts and matching workers in this process, stepped by the test (tests/pipeline)."""
    settings.STREAM_TRIM_COMMITTED = False
    settings.WORKER_BLOCK_MS = 2
    line = Pipeline(redis_conn)
    yield line
    line.stop()


@pytest.fixture
def start_daphne(transactional_db: Any, redis_prefix: str, tmp_path: Path) -> Iterator[Callable[..., Daphne]]:
    """Start daphne (spot.asgi) in a subprocess on a free port; stopped after the test."""
    servers: list[Daphne] = []

    def start(**env: str) -> Daphne:
        server = Daphne(tmp_path, **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def daphne(start_daphne: Callable[..., Daphne]) -> Daphne:
    return start_daphne()
