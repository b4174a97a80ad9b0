"""Snapshot format and state hash of a book, shared by the fast and the reference book.

A snapshot lists the resting orders in price-time order (bids best first, then
asks best first) as rows of ints, plus the two sequences, so JSON carries it
as is. Format 2 adds what else decides future matching (ADR 0013): iceberg
reserves, good-till-date expire times, the pending stop orders in arrival
order and the last trade price. An absent amount (a stop-market's price, the
last price before any trade) is 0, never a valid amount, so every value is
an int. Format 1 (resting orders only) is still read.

The state hash covers all of it and leaves arrival sequence numbers out: two
books holding the same orders in the same priority, the same reserves,
expiries and stops, after the same trades hash equal however they got there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from matching import stops
from matching.errors import SnapshotError
from matching.orders import OrderRecord
from matching.types import MAX_VALUE, OrderType, SelfTradePrevention, Side, TimeInForce

FORMAT = 2
_READABLE = (1, FORMAT)
# An order's row: these ints, in this order (an enum member as its value).
ROW_FIELDS = ("order_id", "user_id", "side", "price", "qty", "remaining", "stp", "seq", "post_only")
_ROW_FIELDS = len(ROW_FIELDS)
_STOP_FIELDS = 10

__all__ = ["FORMAT", "Extras", "ParsedSnapshot", "SnapshotError", "make", "parse", "state_hash"]


class Extras(NamedTuple):
    """What a book holds besides its resting orders' rows (docs/adr/0013-stop-gtd-iceberg.md)."""

    icebergs: list[list[int]]  # [order id, hidden lots, display lots], by order id
    expiries: list[list[int]]  # [order id, expire ts] of resting orders, by order id
    stops: list[stops.StopOrder]  # pending, in arrival order
    last_price: int | None


NO_EXTRAS = Extras([], [], [], None)


class ParsedSnapshot(NamedTuple):
    trade_seq: int
    order_seq: int
    records: list[OrderRecord]
    extras: Extras


def make(
    market_id: int,
    trade_seq: int,
    order_seq: int,
    rows: Sequence[Sequence[int]],
    extras: Extras = NO_EXTRAS,
) -> dict[str, Any]:
    """A snapshot of resting orders given as rows (ROW_FIELDS), in priority order."""
    return {
        "format": FORMAT,
        "market_id": market_id,
        "trade_seq": trade_seq,
        "order_seq": order_seq,
        "orders": [[int(value) for value in row] for row in rows],
        **_extras_fields(extras),
    }


def _extras_fields(extras: Extras) -> dict[str, Any]:
    return {
        "icebergs": [[int(value) for value in row] for row in extras.icebergs],
        "expiries": [[int(value) for value in row] for row in extras.expiries],
        "stops": [_stop_row(stop) for stop in extras.stops],
        "last_price": extras.last_price or 0,
    }


def _stop_row(stop: stops.StopOrder) -> list[int]:
    """A pending stop as ints, its arrival number left out (the list's order is arrival order)."""
    return [
        stop.order_id,
        stop.user_id,
        int(stop.side),
        int(stop.order_type),
        int(stop.tif),
        stop.price_ticks or 0,
        stop.qty_lots or 0,
        stop.quote_lots or 0,
        stop.stop_ticks,
        int(stop.stp),
    ]


def parse(market_id: int, state: object) -> ParsedSnapshot:
    """Validate a snapshot's shape and values; level structure is checked by the book."""
    if not isinstance(state, dict):
        raise SnapshotError("snapshot must be a dict")
    version = state.get("format")
    if version not in _READABLE or type(version) is not int:
        raise SnapshotError(f"unsupported snapshot format {version!r}")
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
        if record.order_id in seen:
            raise SnapshotError(f"order {record.order_id} appears twice")
        seen.add(record.order_id)
        records.append(record)
    extras = NO_EXTRAS if version == 1 else _parse_extras(state, {r.order_id: r for r in records})
    return ParsedSnapshot(trade_seq, order_seq, records, extras)


def _parse_extras(state: dict[str, Any], resting: dict[int, OrderRecord]) -> Extras:
    icebergs = _int_rows(state.get("icebergs"), 3, "icebergs")
    for order_id, hidden, display in icebergs:
        record = resting.get(order_id)
        if record is None or not 0 < hidden <= MAX_VALUE or not 0 < display <= MAX_VALUE:
            raise SnapshotError(f"bad iceberg [{order_id}, {hidden}, {display}]")
        # What shows is at most the display size; visible + hidden never passes the order's size.
        if record.remaining > display or record.remaining + hidden > record.qty:
            raise SnapshotError(f"iceberg {order_id} does not fit its order {record!r}")
    expiries = _int_rows(state.get("expiries"), 2, "expiries")
    for order_id, expire_ts in expiries:
        if order_id not in resting or not 0 < expire_ts <= MAX_VALUE:
            raise SnapshotError(f"bad expiry [{order_id}, {expire_ts}]")
    for name, rows in (("icebergs", icebergs), ("expiries", expiries)):
        ids = [row[0] for row in rows]
        if ids != sorted(set(ids)):
            raise SnapshotError(f"{name} must be by order id, each once")
    pending: list[stops.StopOrder] = []
    seen: set[int] = set()
    for seq, row in enumerate(_int_rows(state.get("stops"), _STOP_FIELDS, "stops"), start=1):
        order_id, user_id, side, order_type, tif, price, qty, quote, stop, stp = row
        price_ticks, qty_lots, quote_lots = price or None, qty or None, quote or None
        reason = stops.stop_error(
            order_id, user_id, side, order_type, tif, price_ticks, qty_lots, quote_lots, stop, False
        )
        if reason is not None or stp not in set(SelfTradePrevention):
            raise SnapshotError(f"bad stop order {row!r}: {reason.name if reason else 'stp'}")
        if order_id in resting or order_id in seen:
            raise SnapshotError(f"stop order {order_id} appears twice")
        seen.add(order_id)
        pending.append(
            stops.StopOrder(
                order_id,
                user_id,
                Side(side),
                OrderType(order_type),
                TimeInForce(tif),
                price_ticks,
                qty_lots,
                quote_lots,
                stop,
                SelfTradePrevention(stp),
                seq,
            )
        )
    last_price = _count(state.get("last_price"), "last_price")
    if last_price > MAX_VALUE:
        raise SnapshotError(f"last_price {last_price} out of range")
    return Extras(icebergs, expiries, pending, last_price or None)


def _int_rows(value: object, width: int, name: str) -> list[list[int]]:
    if not isinstance(value, list):
        raise SnapshotError(f"{name} must be a list")
    for row in value:
        if not isinstance(row, list) or len(row) != width or any(type(v) is not int for v in row):
            raise SnapshotError(f"each of {name} must be {width} ints, got {row!r}")
    return value


_SEQ = ROW_FIELDS.index("seq")


def _without_seq(row: list[int]) -> list[int]:
    """An order's row less its arrival number, which the state hash leaves out."""
    return row[:_SEQ] + row[_SEQ + 1 :]


def state_hash(
    market_id: int, trade_seq: int, records: Sequence[OrderRecord], extras: Extras = NO_EXTRAS
) -> str:
    rows = [_without_seq(record.row()) for record in records]
    fields = _extras_fields(extras)
    payload = json.dumps(
        [
            FORMAT,
            market_id,
            trade_seq,
            rows,
            fields["icebergs"],
            fields["expiries"],
            fields["stops"],
            fields["last_price"],
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _count(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise SnapshotError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _record(row: object, order_seq: int) -> OrderRecord:
    if not isinstance(row, list) or len(row) != _ROW_FIELDS or any(type(v) is not int for v in row):
        raise SnapshotError(f"order row must be {_ROW_FIELDS} ints, got {row!r}")
    order_id, user_id, side, price, qty, remaining, stp, seq, post_only = row
    if not 0 < order_id <= MAX_VALUE or not 0 < user_id <= MAX_VALUE:
        raise SnapshotError(f"bad order or user id in {row!r}")
    if side not in (Side.BUY, Side.SELL):
        raise SnapshotError(f"bad side in {row!r}")
    if stp not in set(SelfTradePrevention):
        raise SnapshotError(f"bad self-trade prevention in {row!r}")
    if not 0 < price <= MAX_VALUE or not 0 < remaining <= qty <= MAX_VALUE:
        raise SnapshotError(f"bad price or size in {row!r}")
    if not 0 < seq <= order_seq or post_only not in (0, 1):
        raise SnapshotError(f"bad sequence or post-only flag in {row!r}")
    # The book compares sides and modes by identity with enum members.
    record = OrderRecord(
        order_id, user_id, Side(side), price, qty, remaining, SelfTradePrevention(stp), seq, post_only
    )
    return record
