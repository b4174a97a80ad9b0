"""Good-till-date orders: resting limit orders that leave the book at their expire time.

The engine has no clock (ADR 0002): an order expires when an ``expire(ts)``
command says the time is ``ts`` or later. The pipeline sends that command
itself, from the times of the commands it reads and from a timer whose ticks
are written to the same stream, so a replay expires the same orders at the
same point (docs/adr/0013-stop-gtd-iceberg.md).

Expiries are a heap of (expire time, order id); an entry whose order is gone
(filled, cancelled) is dropped when it comes to the top. Order ids are unique
in the pipeline; in the engine an expiry belongs to the id until it is due.
"""

from __future__ import annotations

import heapq
from collections.abc import ItemsView


class Expiries:
    __slots__ = ("_at", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []
        self._at: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._at)

    def add(self, order_id: int, expire_ts: int) -> None:
        self._at[order_id] = expire_ts
        heapq.heappush(self._heap, (expire_ts, order_id))

    def get(self, order_id: int) -> int | None:
        return self._at.get(order_id)

    def items(self) -> ItemsView[int, int]:
        """(order id, expire time) of every expiry not yet due, its order resting or not."""
        return self._at.items()

    def due(self, ts: int) -> list[int]:
        """Pop the ids of the orders due at ``ts``, earliest expire time first, then by order id."""
        heap, at = self._heap, self._at
        ids = []
        while heap and heap[0][0] <= ts:
            expire_ts, order_id = heapq.heappop(heap)
            if at.get(order_id) == expire_ts:
                del at[order_id]
                ids.append(order_id)
        return ids

    def next_expiry(self) -> int | None:
        """The earliest expire time still pending (an order gone since may still count)."""
        return self._heap[0][0] if self._heap else None
