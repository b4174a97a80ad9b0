"""Shared fixtures: named personas, markets, and an isolated Redis key space.

A test marked `@pytest.mark.cluster` runs twice: on the Redis server of
REDIS_URL, and on a local Redis Cluster of 3 masters and 3 replicas started
once for the session (spot/local_cluster.py). `--redis-backend=cluster`
runs every test on the cluster instead. A cluster has only database 0, so
the tests keep apart there as they do on one server: by key prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

from exchange.models import Asset, Market
from spot.local_cluster import ClusterUnavailable, LocalCluster, binaries
from spot.redis_connection import connect, redis_client, worker_redis_client

User = get_user_model()


@pytest.fixture
def alice(db: Any) -> AbstractUser:
    return User.objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(db: Any) -> AbstractUser:
    return User.objects.create_user("bob", password="bob-pass-123")


@pytest.fixture
def operator(db: Any) -> AbstractUser:
    return User.objects.create_superuser("operator", "ops@example.com", "operator-pass-123")


@pytest.fixture
def usdt(db: Any) -> Asset:
    return Asset.objects.create(code="USDT", name="Tether USD", display_precision=6)


@pytest.fixture
def btc(db: Any) -> Asset:
    return Asset.objects.create(code="BTC", name="Bitcoin", display_precision=8)


def make_market(base: str, quote: str, **rules: Any) -> Market:
    """A market between two assets, made when missing; rules override the defaults below."""
    base_asset, _ = Asset.objects.get_or_create(code=base, defaults={"display_precision": 8})
    quote_asset, _ = Asset.objects.get_or_create(code=quote, defaults={"display_precision": 6})
    values = {
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.0001"),
        "min_quantity": Decimal("0.0001"),
        "min_notional": Decimal("1"),
        **rules,
    }
    return Market.objects.create(symbol=f"{base}/{quote}", base=base_asset, quote=quote_asset, **values)


@pytest.fixture
def btc_usdt(btc: Asset, usdt: Asset) -> Market:
    return make_market(
        "BTC", "USDT", lot_size=Decimal("0.00001"), min_quantity=Decimal("0.00001"), min_notional=Decimal("5")
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-backend",
        choices=("server", "cluster"),
        default="server",
        help="where every test's Redis is: REDIS_URL's server, or a local Redis Cluster for all of them",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_server = metafunc.config.getoption("redis_backend") == "server"
    if on_server and metafunc.definition.get_closest_marker("cluster") is not None:
        metafunc.parametrize("redis_backend", ["server", "cluster"], indirect=True)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a parametrised test on the cluster only in the cases its marker names: `cluster(only={...})`.

    In parallel runs (pytest-xdist, `--dist loadgroup`), the tests on the
    session's cluster go to one worker: one cluster is started, not one per
    worker. With `--redis-backend=cluster` every test is on one, so each
    worker starts its own instead.
    """
    on_server = config.getoption("redis_backend") == "server"
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("cluster")
        params = getattr(item, "callspec", None)
        only = marker.kwargs.get("only", {}) if marker is not None else {}
        chosen = params.params if params is not None else {}
        on_cluster = chosen.get("redis_backend") == "cluster"
        if on_cluster and any(chosen.get(name) != value for name, value in only.items()):
            dropped.append(item)
        else:
            kept.append(item)
            if on_server and (on_cluster or "redis_cluster" in getattr(item, "fixturenames", ())):
                item.add_marker(pytest.mark.xdist_group("redis-cluster"))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def redis_backend(request: pytest.FixtureRequest) -> str:
    """Where the test's Redis is: "server" (REDIS_URL), or "cluster" (a marked test's second run, or all)."""
    return str(getattr(request, "param", request.config.getoption("redis_backend")))


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    try:
        binaries()
    except ClusterUnavailable as exc:
        pytest.skip(f"no local Redis Cluster: {exc}")
    cluster = LocalCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def quick_commits(settings: Any) -> None:
    """Workers in tests commit within 10 ms, not production's 50 (docs/adr/0014).

    The in-process pipeline steps each worker in turn, and a worker holding
    uncommitted rows waits up to that long for more input before it commits.
    """
    settings.WRITE_BUFFER_MAX_DELAY_MS = 10


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    """Passwords hash with few PBKDF2 iterations, not production's million (tests/passwords.py)."""
    from tests.passwords import HASHERS

    settings.PASSWORD_HASHERS = HASHERS


@pytest.fixture(autouse=True)
def redis_prefix(settings: Any, redis_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Give every test its own key prefix and delete every key under it afterwards.

    Every test, not only those that ask: a test that revokes an API key or
    places an order through the API writes keys too. Keys of a prefix a
    test derives from this one (`{prefix}-django`) go with it, and so do
    keys that carry the prefix inside a hash tag (`{<prefix>:user:7:events}:seq`).
    """
    prefix = f"spot-test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_KEY_PREFIX = prefix
    if redis_backend == "cluster":
        settings.REDIS_URL = request.getfixturevalue("redis_cluster").url
        _forget_clients()
    url = settings.REDIS_URL  # as it is now: a test may point the setting at a Redis that is down
    _forget_claims_watch()
    yield prefix
    client = connect(url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    if redis_backend == "cluster":
        _forget_clients()


def _forget_claims_watch() -> None:
    """The thread's API client asks its server again under the new prefix (exchange.api.claims_watch)."""
    from exchange.api import redis_clients

    watch = getattr(redis_clients._local, "claims_watch", None)
    if watch is not None:
        watch.forget()


def _forget_clients() -> None:
    """The process's cached clients are made from REDIS_URL: made anew for the next test's."""
    redis_client.cache_clear()
    worker_redis_client.cache_clear()


@pytest.fixture
def redis_conn(redis_prefix: str) -> Iterator[redis.Redis]:
    client = connect(settings.REDIS_URL)
    yield client
    client.close()
