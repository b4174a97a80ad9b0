"""Ids derived from stream entry ids, so a replay derives the same ones.

An order's id comes from the id Redis gave its place command in the accounts
stream: milliseconds, the entry's sequence within that millisecond, and the
accounts shard. Both the API (which answers with it) and the accounts worker
(which processes the command) compute it without talking to each other.
"""

from __future__ import annotations

from exchange.ids import EPOCH_MS

SHARD_BITS = 10
SEQUENCE_BITS = 12
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class EntryIdOutOfRange(ValueError):
    """An entry id that cannot be turned into an order id (before 2026, or >4095 entries in one ms)."""


def parse_entry_id(entry_id: str | bytes) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    millis, _, sequence = text.partition("-")
    return int(millis), int(sequence or 0)


def order_id_for(entry_id: str | bytes, account_shard: int) -> int:
    millis, sequence = parse_entry_id(entry_id)
    if millis < EPOCH_MS or sequence > MAX_SEQUENCE:
        raise EntryIdOutOfRange(f"entry {entry_id!r} cannot carry an order id")
    return ((millis - EPOCH_MS) << (SEQUENCE_BITS + SHARD_BITS)) | (sequence << SHARD_BITS) | account_shard


def entry_id_less_or_equal(left: str, right: str) -> bool:
    return parse_entry_id(left) <= parse_entry_id(right)


def accepted_ms_of(order_id: int) -> int:
    """The millisecond of the accounts entry that placed the order: when the exchange accepted it."""
    return (order_id >> (SEQUENCE_BITS + SHARD_BITS)) + EPOCH_MS
