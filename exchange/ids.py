"""64-bit ids assigned outside the database (snowflake layout).

41 bits of milliseconds since 2026-01-01, 10 bits of node, 12 bits of
sequence: sortable by time, unique across up to 1,024 processes that each
have their own node number, and never reused after a restart unless the
clock goes back — which `next_id` refuses by waiting for it to catch up.
"""

from __future__ import annotations

import threading
import time

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class IdGenerator:
    def __init__(self, node: int) -> None:
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be within 0..{MAX_NODE}, got {node}")
        self._node = node
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = self._now_ms()
            if now < self._last_ms:
                now = self._wait_until(self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
                if self._sequence == 0:
                    now = self._wait_until(self._last_ms + 1)
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS))
                | (self._node << SEQUENCE_BITS)
                | self._sequence
            )

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 1_000_000

    def _wait_until(self, target_ms: int) -> int:
        now = self._now_ms()
        while now < target_ms:
            time.sleep((target_ms - now) / 1000)
            now = self._now_ms()
        return now


def timestamp_ms_of(snowflake: int) -> int:
    return (snowflake >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS
