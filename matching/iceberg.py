"""Iceberg orders: a visible part on the book, a hidden reserve that refills it.

Only the visible part rests in its level (so depth, level totals and a side's
totals count it alone); the reserve lives in the book's ``_icebergs`` map,
``order id -> [hidden lots, display lots]``. When matching takes the visible
part to zero and the reserve is not empty, :func:`refresh` puts a new visible
part of ``min(display, hidden)`` lots at the *back* of the same level, with a
new arrival number: it loses time priority, and a taker still at that level
may reach it after the orders that were queued behind the old part. The
order's total size (``QTY``) never changes, so filled = QTY - visible - hidden.
"""

from __future__ import annotations

from matching.events import Event
from matching.orders import OrderRecord
from matching.price_level import PriceLevel
from matching.types import EventKind

Icebergs = dict[int, list[int]]  # order id -> [hidden lots, display lots]
HIDDEN = 0
DISPLAY = 1


def hide(record: OrderRecord, display: int) -> int:
    """Keep ``display`` lots of a record that just rested visible; returns the lots hidden."""
    hidden = record.remaining - display
    if hidden <= 0:
        return 0
    record.remaining = display
    return hidden


def refresh(
    icebergs: Icebergs,
    level: PriceLevel,
    maker: OrderRecord,
    seq: int,
    events: list[Event],
    ts: int,
    market: int,
) -> OrderRecord:
    """Refill a maker whose visible part just traded away; returns the new record (queued, not indexed)."""
    reserve = icebergs[maker.order_id]
    visible = min(reserve[DISPLAY], reserve[HIDDEN])
    reserve[HIDDEN] -= visible
    if not reserve[HIDDEN]:
        del icebergs[maker.order_id]
    record = maker.copy()
    record.remaining = visible
    record.seq = seq
    level.orders.append(record)
    events.append(
        (
            EventKind.REFRESHED,
            market,
            maker.order_id,
            maker.user_id,
            maker.side,
            maker.price,
            visible,
            reserve[HIDDEN],
            ts,
        )
    )
    return record


def take_reserve(icebergs: Icebergs, order_id: int) -> int:
    """Forget an order's reserve (it is leaving the book); returns its hidden lots."""
    reserve = icebergs.pop(order_id, None)
    return 0 if reserve is None else reserve[HIDDEN]


def hidden_of(icebergs: Icebergs, order_id: int) -> int:
    reserve = icebergs.get(order_id)
    return 0 if reserve is None else reserve[HIDDEN]
