"""Snapshot format and state hash of a book, shared by the fast and the reference book.

A snapshot lists the resting orders in price-time order (bids best first, then
asks best first) as rows of ints, plus the two sequences, so JSON carries it
as is. The state hash leaves arrival sequence numbers out: two books holding
the same orders in the same priority after the same number of trades hash
equal however they got there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from matching.errors import SnapshotError
from matching.orders import (
    ORDER_ID,
    POST_ONLY,
    PRICE,
    QTY,
    REMAINING,
    SEQ,
    SIDE,
    STP,
    USER_ID,
    OrderRecord,
)
from matching.types import MAX_VALUE, SelfTradePrevention, Side

FORMAT = 1
_ROW_FIELDS = 9

__all__ = ["FORMAT", "ParsedSnapshot", "SnapshotError", "make", "parse", "state_hash"]


class ParsedSnapshot(NamedTuple):
    trade_seq: int
    order_seq: int
    records: list[OrderRecord]


def make(market_id: int, trade_seq: int, order_seq: int, records: Sequence[OrderRecord]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "market_id": market_id,
        "trade_seq": trade_seq,
        "order_seq": order_seq,
        "orders": [[int(value) for value in record] for record in records],
    }


def parse(market_id: int, state: object) -> ParsedSnapshot:
    """Validate a snapshot's shape and values; level structure is checked by the book."""
    if not isinstance(state, dict):
        raise SnapshotError("snapshot must be a dict")
    if state.get("format") != FORMAT:
        raise SnapshotError(f"unsupported snapshot format {state.get('format')!r}")
    if state.get("market_id") != market_id:
        raise SnapshotError(f"snapshot of market {state.get('market_id')!r}, not {market_id}")
    trade_seq = _count(state.get("trade_seq"), "trade_seq")
    order_seq = _count(state.get("order_seq"), "order_seq")
    rows = state.get("orders")
    if not isinstance(rows, list):
        raise SnapshotError("orders must be a list")
    records: list[OrderRecord] = []
    seen: set[int] = set()
    for row in rows:
        record = _record(row, order_seq)
        if record[ORDER_ID] in seen:
            raise SnapshotError(f"order {record[ORDER_ID]} appears twice")
        seen.add(record[ORDER_ID])
        records.append(record)
    return ParsedSnapshot(trade_seq, order_seq, records)


def state_hash(market_id: int, trade_seq: int, records: Sequence[OrderRecord]) -> str:
    rows = [
        [
            r[ORDER_ID],
            r[USER_ID],
            int(r[SIDE]),
            r[PRICE],
            r[QTY],
            r[REMAINING],
            int(r[STP]),
            int(r[POST_ONLY]),
        ]
        for r in records
    ]
    payload = json.dumps([FORMAT, market_id, trade_seq, rows], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _count(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise SnapshotError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _record(row: object, order_seq: int) -> OrderRecord:
    if not isinstance(row, list) or len(row) != _ROW_FIELDS or any(type(v) is not int for v in row):
        raise SnapshotError(f"order row must be {_ROW_FIELDS} ints, got {row!r}")
    record: OrderRecord = list(row)
    if not 0 < record[ORDER_ID] <= MAX_VALUE or not 0 < record[USER_ID] <= MAX_VALUE:
        raise SnapshotError(f"bad order or user id in {row!r}")
    if record[SIDE] not in (Side.BUY, Side.SELL):
        raise SnapshotError(f"bad side in {row!r}")
    if record[STP] not in set(SelfTradePrevention):
        raise SnapshotError(f"bad self-trade prevention in {row!r}")
    if not 0 < record[PRICE] <= MAX_VALUE or not 0 < record[REMAINING] <= record[QTY] <= MAX_VALUE:
        raise SnapshotError(f"bad price or size in {row!r}")
    if not 0 < record[SEQ] <= order_seq or record[POST_ONLY] not in (0, 1):
        raise SnapshotError(f"bad sequence or post-only flag in {row!r}")
    # The book compares sides and modes by identity with enum members.
    record[SIDE] = Side(record[SIDE])
    record[STP] = SelfTradePrevention(record[STP])
    return record
