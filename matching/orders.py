"""The resting-order record and its read-only public view.

Inside the book a resting order is an :class:`OrderRecord`, a slotted
class. A ``list[int]`` made the pure modules 3-6 % faster in all, but the
engine's mypyc build (docs/adr/0012-engine-speed.md) keeps a class's int
fields unboxed, its enum fields as the members they are, and its instances
out of the cyclic GC. Nothing outside the book sees records; callers get
:class:`OpenOrder` copies, and snapshots rows of ints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple

from matching.types import SelfTradePrevention, Side


class OrderRecord:
    """A resting order inside the book; mutable, never seen outside it."""

    __slots__ = ("order_id", "post_only", "price", "qty", "remaining", "seq", "side", "stp", "user_id")

    def __init__(
        self,
        order_id: int,
        user_id: int,
        side: Side,
        price: int,
        qty: int,
        remaining: int,
        stp: SelfTradePrevention,
        seq: int,
        post_only: int,
    ) -> None:
        self.order_id = order_id
        self.user_id = user_id
        self.side = side
        self.price = price
        self.qty = qty  # total size: filled + remaining
        self.remaining = remaining  # 0 once the order left the book (a cancelled record may linger)
        self.stp = stp
        self.seq = seq  # arrival sequence in this book; FIFO within a level follows it
        self.post_only = post_only  # 0 / 1

    def copy(self) -> OrderRecord:
        return OrderRecord(
            self.order_id,
            self.user_id,
            self.side,
            self.price,
            self.qty,
            self.remaining,
            self.stp,
            self.seq,
            self.post_only,
        )

    def row(self) -> list[int]:
        return [
            self.order_id,
            self.user_id,
            int(self.side),
            self.price,
            self.qty,
            self.remaining,
            int(self.stp),
            self.seq,
            self.post_only,
        ]


class UserOrders:
    """One user's resting orders in a book, oldest first, with some that have left.

    An order leaving the book costs a decrement of ``live``: its record stays in
    ``records`` (``remaining`` 0, as every record that left the book) until the
    list holds more than twice the live ones, when ``add`` drops them in one pass
    (amortised: a few attribute reads per order). A dict of the user's orders by
    id, the obvious index, cost a quarter of the peer benchmark's time in
    inserts, deletes and dicts made and freed (docs/adr/0012-engine-speed.md).
    """

    __slots__ = ("live", "records")

    def __init__(self, record: OrderRecord) -> None:
        self.records = [record]
        self.live = 1

    def add(self, record: OrderRecord) -> None:
        """Queue a record that rests now (the caller counts it live, or it replaces one that left)."""
        records = self.records
        records.append(record)
        if len(records) > 2 * self.live + 8:
            self.records = [r for r in records if r.remaining]

    def resting(self) -> list[OrderRecord]:
        return [r for r in self.records if r.remaining]


class OpenOrder(NamedTuple):
    order_id: int
    user_id: int
    side: Side
    price_ticks: int
    qty_lots: int
    remaining_lots: int
    stp: SelfTradePrevention
    post_only: bool


def open_order(record: OrderRecord) -> OpenOrder:
    return OpenOrder(
        record.order_id,
        record.user_id,
        Side(record.side),
        record.price,
        record.qty,
        record.remaining,
        SelfTradePrevention(record.stp),
        bool(record.post_only),
    )


class OpenOrders(Mapping[int, OpenOrder]):
    """Live, read-only view of a book's resting orders by order id."""

    __slots__ = ("_index",)

    def __init__(self, index: Mapping[int, OrderRecord]) -> None:
        self._index = index

    def __getitem__(self, order_id: int) -> OpenOrder:
        return open_order(self._index[order_id])

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def __iter__(self) -> Iterator[int]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)
