"""API fixtures: keys for the personas, signed clients on both serving paths, a fake engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from exchange.api.keys import key_cache
from exchange.api.market_rules import market_rules
from exchange.models import Asset, Market, MarketStatus
from exchange.services.api_keys import IssuedKey, issue_api_key
from tests.api.support import (
    FakeEngine,
    SignedClient,
    Transport,
    django_transport,
    fast_path_app,
    wsgi_transport,
)
from tests.conftest import make_market


@pytest.fixture(autouse=True)
def api_settings(settings: Any, redis_prefix: str) -> Iterator[None]:
    """Every API test gets its own Redis prefix, a generous rate limit and cold caches."""
    settings.API_RATE_LIMIT_PER_S = 10_000
    settings.API_RATE_LIMIT_BURST = 10_000
    settings.API_PUBLIC_RATE_LIMIT_PER_S = 10_000
    settings.API_PUBLIC_RATE_LIMIT_BURST = 10_000
    settings.API_RESULT_WAIT_MS = 1000
    # The personas' passwords would otherwise take a quarter second each to hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    key_cache.clear()
    market_rules.clear()
    yield
    key_cache.clear()
    market_rules.clear()


@pytest.fixture
def alice_key(alice: User) -> IssuedKey:
    return issue_api_key(alice, "alice bot", can_read=True, can_trade=True)


@pytest.fixture
def bob_key(bob: User) -> IssuedKey:
    return issue_api_key(bob, "bob bot", can_read=True, can_trade=True)


@pytest.fixture
def alice_read_only_key(alice: User) -> IssuedKey:
    return issue_api_key(alice, "alice dashboard", can_read=True, can_trade=False)


@pytest.fixture(params=["django", "fast-path"])
def transport(request: pytest.FixtureRequest, client: Client) -> Transport:
    """Both ways an API process serves POST /orders: ninja under Django, and the lean WSGI path."""
    if request.param == "django":
        return django_transport(client)
    return wsgi_transport(fast_path_app())


@pytest.fixture
def alice_api(client: Client, alice_key: IssuedKey) -> SignedClient:
    return SignedClient(django_transport(client), alice_key)


@pytest.fixture
def alice_any_path(transport: Transport, alice_key: IssuedKey) -> SignedClient:
    return SignedClient(transport, alice_key)


@pytest.fixture
def bob_api(bob_key: IssuedKey) -> SignedClient:
    return SignedClient(django_transport(Client()), bob_key)


@pytest.fixture
def eth_usdt_halted(usdt: Asset) -> Market:
    return make_market("ETH", "USDT", min_notional=Decimal("5"), status=MarketStatus.HALTED)


@pytest.fixture
def fake_engine() -> Iterator[Callable[..., FakeEngine]]:
    engines: list[FakeEngine] = []

    def start(
        verdict: Callable[[dict[str, Any]], dict[str, Any] | None], ids_as_text: bool = False
    ) -> FakeEngine:
        engine = FakeEngine(verdict, ids_as_text).start()
        engines.append(engine)
        return engine

    yield start
    for engine in engines:
        engine.stop()


def mark_claims_server(redis_conn: Any, run_id: str, since_ms: int) -> None:
    """Write the API's marker of the Redis server that serves the claims (exchange.api.claims_watch)."""
    from exchange.api.claims_watch import marker_key
    from exchange.api.redis_clients import claims_watch

    redis_conn.hset(marker_key(), mapping={"run_id": run_id, "since_ms": since_ms})
    claims_watch().forget()


@pytest.fixture
def redis_took_over(redis_conn: Any, settings: Any) -> None:
    """Another Redis server served the claims until now: claims may have been lost, so the API
    looks client order ids up in the database (with API_CLIENT_ID_DB_CHECK on)."""
    settings.API_CLIENT_ID_DB_CHECK = True
    mark_claims_server(redis_conn, "a-server-that-is-gone", 0)


@pytest.fixture
def redis_serving_long(redis_conn: Any, settings: Any) -> None:
    """The same Redis server has served the claims for longer than the window: none was lost."""
    import time

    settings.API_CLIENT_ID_DB_CHECK = True
    run_id = redis_conn.info("server")["run_id"]
    window_ms = settings.CLIENT_ORDER_ID_WINDOW_S * 1000
    mark_claims_server(redis_conn, run_id, int(time.time() * 1000) - 2 * window_ms)
