"""A matching shard's books rebuilt by replaying its input stream from the start, as a fresh stage."""

from __future__ import annotations

from typing import Any

import redis

from exchange.models import Trade
from exchange.pipeline.keys import matching_keys
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.matching_stage import TRADE_FIELDS, MatchingStage
from exchange.pipeline.messages import decode
from exchange.pipeline.outbox import Outbox
from matching import OrderBook
from persistence.offsets import CommittedPosition
from persistence.write_buffer import WriteBuffer


class Replay:
    def __init__(self, books: dict[str, OrderBook], trade_ids: set[int]) -> None:
        self.books = books
        self.trade_ids = trade_ids


def replay_matching_stream(
    client: redis.Redis, shard: int, markets: dict[str, MarketRules], until: str = "+"
) -> Replay:
    """Every entry of the shard's matching stream up to ``until`` (an entry id, inclusive), applied afresh."""
    books = {symbol: OrderBook(rules.market_id) for symbol, rules in markets.items()}
    buffer = WriteBuffer(f"replay-{shard}", "replay", CommittedPosition())
    stage = MatchingStage(
        shard,
        dict(markets),
        books,
        {},
        buffer,
        Outbox("replay"),
        lambda _: "sink",
        0,
        matching_keys(shard),
        "replay",
        lambda: dict(markets),
    )
    entries: Any = client.xrange(matching_keys(shard).stream, max=until)
    for entry_id, fields in entries:
        stage.handle(entry_id.decode(), decode(fields))
    trade_ids = set(buffer.table(Trade, TRADE_FIELDS).rows)  # the waiting trade rows, keyed by id
    return Replay(books, trade_ids)


def book_difference(left: OrderBook, right: OrderBook) -> str:
    """What differs between two books' snapshots, arrival numbers aside: for a failed hash comparison."""
    one, two = _comparable(left.snapshot()), _comparable(right.snapshot())
    lines = []
    for key in one:
        if one[key] == two[key]:
            continue
        if isinstance(one[key], list):
            only_left = [row for row in one[key] if row not in two[key]]
            only_right = [row for row in two[key] if row not in one[key]]
            lines.append(f"{key}: only left {only_left}, only right {only_right}")
            if not only_left and not only_right:
                lines.append(f"{key}: the same rows in another order")
        else:
            lines.append(f"{key}: {one[key]!r} != {two[key]!r}")
    return "; ".join(lines)


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    from matching.snapshot import ROW_FIELDS

    seq = ROW_FIELDS.index("seq")

    state = {key: value for key, value in state.items() if key != "order_seq"}
    state["orders"] = [[value for index, value in enumerate(row) if index != seq] for row in state["orders"]]
    return state
