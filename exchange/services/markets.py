"""Telling the workers that markets changed (created, halted, resumed, new fees)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import encode
from spot.redis_connection import redis_client


def announce_market_change() -> None:
    """After the change commits, every accounts worker (and through it every matching
    worker) reloads the markets, in stream order with the orders around it."""

    def send() -> None:
        pipe = redis_client().pipeline(transaction=False)
        for shard in range(settings.ACCOUNT_SHARDS):
            pipe.xadd(accounts_keys(shard).stream, encode({"t": "markets"}))  # type: ignore[arg-type]
        pipe.execute()

    transaction.on_commit(send)
