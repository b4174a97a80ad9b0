"""What the accounts streams hold beside the database: acknowledged commands and settlements in flight.

The database shows only what the workers committed. An order the API
acknowledged is a place entry in its user's accounts stream; a trade's
settlement is a batch entry from a matching worker in the accounts stream of
each user it touches (and of the fee account). The entries after an accounts
worker's committed offset are exactly what it has still to apply, so the
audit adds them to the snapshot instead of calling their absence a loss.
Entries at or before the offset are kept only while streams are not trimmed
(`STREAM_TRIM_COMMITTED=0`): the audit checks the places among them and
cannot see the ones already trimmed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import redis

from exchange.pipeline import settlements
from exchange.pipeline.ids import EntryIdOutOfRange, order_id_for, parse_entry_id
from exchange.pipeline.keys import ShardKeys
from exchange.pipeline.messages import MalformedEntry, decode
from exchange.pipeline.outbox import ReplayFilter, groups_of

PAGE = 5000


class StaleSnapshot(Exception):
    """A worker trimmed entries past the snapshot's offset before they were read; take a new snapshot."""


@dataclass(frozen=True)
class AcknowledgedPlace:
    shard: int
    entry_id: str
    order_id: int
    user_id: int
    client_order_id: str


@dataclass
class StreamContents:
    # Committed by the accounts worker, still retained: each must have left a row.
    committed_places: list[AcknowledgedPlace] = field(default_factory=list)
    # Acknowledged, not yet applied by the accounts worker.
    pending_places: int = 0
    # (user id, asset code) -> the change of available + locked its pending settlements will make.
    pending_legs: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    pending_settlements: int = 0
    # Entry ids the shard's dead-letter stream names: refused, so they leave no row.
    dead_letters: set[tuple[int, str]] = field(default_factory=set)


def read_accounts_stream(
    client: redis.Redis,
    shard: int,
    keys: ShardKeys,
    committed: str,
    applied: dict[str, str],
    markets: dict[str, tuple[str, str]],
    contents: StreamContents,
) -> None:
    """Add one accounts stream's entries to `contents`.

    committed: the worker's last committed entry in the snapshot; applied:
    the last group it applied from each producer (its replay filter);
    markets: symbol -> (base, quote) asset codes.
    """
    replays = ReplayFilter(dict(applied))
    last = parse_entry_id(committed)
    for entry_id, fields in _entries(client, keys.stream):
        try:
            message = decode(fields)
        except MalformedEntry:
            continue  # the worker sends it to the dead-letter stream; nothing to account for
        if parse_entry_id(entry_id) <= last:
            if message["t"] == "place":
                place = _place(shard, entry_id, message)
                if place is not None:
                    contents.committed_places.append(place)
            continue
        if message["t"] == "place":
            contents.pending_places += 1
        elif message["t"] == "batch":
            _add_settlements(message, replays, markets, contents)
    for _, fields in _entries(client, keys.dead_letters):
        dead = fields.get(b"entry")
        if dead is not None:
            contents.dead_letters.add((shard, dead.decode()))
    _refuse_if_trimmed_past(client, keys.stream, last)


def _entries(client: redis.Redis, stream: str) -> Iterator[tuple[str, dict[bytes, bytes]]]:
    start = "-"
    while True:
        page: Any = client.xrange(stream, min=start, count=PAGE)
        for entry_id, fields in page:
            yield entry_id.decode(), fields
        if len(page) < PAGE:
            return
        start = "(" + page[-1][0].decode()


def _place(shard: int, entry_id: str, message: dict[str, Any]) -> AcknowledgedPlace | None:
    user_id, client_order_id = message.get("uid"), message.get("cid")
    if type(user_id) is not int or type(client_order_id) is not str:
        return None  # malformed: dead-lettered by the worker
    try:
        order_id = order_id_for(entry_id, shard)
    except EntryIdOutOfRange:
        return None
    return AcknowledgedPlace(shard, entry_id, order_id, user_id, client_order_id)


def _add_settlements(
    message: dict[str, Any],
    replays: ReplayFilter,
    markets: dict[str, tuple[str, str]],
    contents: StreamContents,
) -> None:
    """The balance changes the worker will make for the groups it has not applied yet (as its stage does)."""
    legs = contents.pending_legs
    try:
        groups = groups_of(message)
    except MalformedEntry:
        return
    for producer, sequence, items in groups:
        if not replays.accept(producer, sequence):
            continue  # applied before the snapshot, or a resent copy
        contents.pending_settlements += 1
        try:
            for raw in items:
                item = settlements.as_list(raw)
                if item[0] == settlements.FILL:
                    _, user_id, _, symbol, side, base, quote, fee = settlements.read_fill(item)
                    base_asset, quote_asset = markets[symbol]
                    if side == "BUY":
                        legs[(user_id, quote_asset)] -= quote + fee
                        legs[(user_id, base_asset)] += base
                    else:
                        legs[(user_id, base_asset)] -= base
                        legs[(user_id, quote_asset)] += quote - fee
                elif item[0] == settlements.FEE:
                    user_id, asset, amount, _ = settlements.read_fee(item)
                    legs[(user_id, asset)] += amount
        except (MalformedEntry, KeyError):
            continue  # the worker dead-letters this group


def _refuse_if_trimmed_past(client: redis.Redis, stream: str, committed: tuple[int, int]) -> None:
    """Entries after the snapshot's offset were trimmed while we read: the worker has moved on."""
    try:
        info: Any = client.xinfo_stream(stream)
    except redis.ResponseError:
        return  # no such stream: nothing was ever sent to it
    deleted = info.get("max-deleted-entry-id")
    if deleted is None:
        return  # Redis before 7.0 does not say; trimming is approximate and rare enough
    text = deleted.decode() if isinstance(deleted, bytes) else str(deleted)
    if parse_entry_id(text) > committed:
        raise StaleSnapshot(f"{stream} was trimmed past {committed[0]}-{committed[1]}")
