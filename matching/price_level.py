"""One price level: a FIFO queue of resting orders and their total size.

Cancelling from the middle of a ``deque`` is O(n), so a cancel only zeroes the
record's remaining size and leaves it in the queue ("dead"); the matching loop
drops dead records when they reach the head, and a level that collects more
dead records than live ones compacts itself. ``total`` counts live size only,
so a level is empty exactly when ``total == 0``.
"""

from __future__ import annotations

from collections import deque

from matching.orders import OrderRecord

# Below this many dead records compaction is not worth a rebuild.
_COMPACT_MIN_DEAD = 32


class PriceLevel:
    __slots__ = ("dead", "key", "orders", "price", "total")

    def __init__(self, key: int, price: int) -> None:
        # Bids are keyed by -price so both sides iterate best-first in ascending key order.
        self.key = key
        self.price = price
        self.total = 0
        self.orders: deque[OrderRecord] = deque()
        self.dead = 0

    def unlink(self, record: OrderRecord) -> None:
        """Take a record whose REMAINING was just zeroed out of the queue, lazily if need be."""
        orders = self.orders
        if orders[-1] is record:
            orders.pop()
        elif orders[0] is record:
            orders.popleft()
        else:
            self.bury()

    def bury(self) -> None:
        """Count one more dead record left in the queue; compact the queue when they are too many."""
        self.dead += 1
        if self.dead >= _COMPACT_MIN_DEAD and self.dead * 2 > len(self.orders):
            self.orders = deque([r for r in self.orders if r.remaining])
            self.dead = 0

    def live(self) -> list[OrderRecord]:
        return [r for r in self.orders if r.remaining]
