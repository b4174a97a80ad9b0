"""Waiting until every worker has committed everything in its stream."""

from __future__ import annotations

import time
from typing import Any

import redis

from persistence.models import StreamOffset


def last_entry(client: redis.Redis, stream: str) -> str:
    newest: Any = client.xrevrange(stream, count=1)
    return newest[0][0].decode() if newest else "0-0"


def all_committed(client: redis.Redis, consumers: dict[str, str]) -> bool:
    """consumers: worker name -> its input stream."""
    committed = dict(StreamOffset.objects.values_list("consumer", "last_entry_id"))
    return all(committed.get(name) == last_entry(client, stream) for name, stream in consumers.items())


def wait_until_quiet(client: redis.Redis, consumers: dict[str, str], timeout: float = 60) -> None:
    """Quiet = everything committed, twice in a row with a pause between (settlements travel)."""
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        streak = streak + 1 if all_committed(client, consumers) else 0
        if streak >= 3:
            return
        time.sleep(0.2)
    committed = dict(StreamOffset.objects.values_list("consumer", "last_entry_id"))
    heads = {name: last_entry(client, stream) for name, stream in consumers.items()}
    raise AssertionError(f"workers did not catch up: committed {committed}, streams end at {heads}")
