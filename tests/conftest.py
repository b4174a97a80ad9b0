"""Shared fixtures: named personas, markets, and an isolated Redis key space."""

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


@pytest.fixture(autouse=True)
def redis_prefix(settings: Any) -> Iterator[str]:
    """Give every test its own key prefix and delete every key under it afterwards.

    Every test, not only those that ask: a test that revokes an API key or
    places an order through the API writes keys too. Keys of a prefix a
    test derives from this one (`{prefix}-django`) go with it.
    """
    prefix = f"spot-test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_KEY_PREFIX = prefix
    url = settings.REDIS_URL  # as it is now: a test may point the setting at a Redis that is down
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_conn(redis_prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()
