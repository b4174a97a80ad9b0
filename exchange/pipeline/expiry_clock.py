"""The matching worker's clock for good-till-date orders: ticks written into its own stream.

The matching stage expires what is due before each command, by the
command's time (ADR 0013). A market with no activity has no commands, so
when an expiry is due the idle worker appends a ``clock`` command to its own
input stream, stamped with its wall clock. The tick is then an ordinary
entry: a replay after a crash, or a standby that takes over, reads the same
tick at the same place and expires the same orders. The wall clock decides
only when a tick is written, never what it does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from exchange.pipeline.messages import encode

# At most one tick a second: an expiry is late by at most this, plus the read block.
TICK_INTERVAL_MS = 1000


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ExpiryClock:
    def __init__(
        self, shard: int, stream: str, client: redis.Redis, now_ms: Callable[[], int] = wall_clock_ms
    ):
        self.producer = f"clock-{shard}"
        self.stream = stream
        self.redis = client
        self.now_ms = now_ms
        self._last_tick_ms = 0

    def due_in_ms(self, soonest_expiry: int | None) -> int | None:
        """Milliseconds until tick() would write a tick for this expiry (0 if it would now); None if never."""
        if soonest_expiry is None:
            return None
        now = self.now_ms()
        return max(0, soonest_expiry - now, self._last_tick_ms + TICK_INTERVAL_MS - now)

    def tick(self, soonest_expiry: int | None) -> bool:
        """Write a tick if an expiry is due and none went out within the interval; returns whether one did."""
        now = self.now_ms()
        if soonest_expiry is None or now < soonest_expiry or now - self._last_tick_ms < TICK_INTERVAL_MS:
            return False
        # The group's sequence must grow for the replay filter, even if the wall clock steps back.
        at = max(now, self._last_tick_ms + 1)
        self._last_tick_ms = at
        message = {"t": "batch", "p": self.producer, "g": [[f"{at}-0", [{"t": "clock", "ts": at}]]]}
        self.redis.xadd(self.stream, encode(message))  # type: ignore[arg-type]
        return True
