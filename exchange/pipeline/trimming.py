"""How far a worker trims its input stream once it has committed (STREAM_TRIM_COMMITTED).

A matching worker trims below its committed entry: what the entries before
it did is in the database. An accounts worker has to wait longer. A place
command it forwards becomes an order row only when matching commits it, and
until then the place entry in the accounts stream is where the API finds the
order (exchange/api/order_lookup.py). Trimmed at the accounts commit, an
order acknowledged while its matching worker was down or behind answered 404,
and a cancel of it was refused and the order rested and filled (issue 19).

So the accounts stage records, committed with its offset, the last of its
entries that sent each matching stream something (`CommittedPosition.
forwarded`), and its worker trims only below the last of those entries that
the matching worker has committed, for each matching stream that has not
committed all it was sent.
"""

from __future__ import annotations

from collections.abc import Callable

from exchange.pipeline.ids import parse_entry_id
from persistence.offsets import CommittedPosition, applied_from

# The entry below which a committed position lets the worker trim its input ("0-0": nothing).
TrimFloor = Callable[[CommittedPosition], str]


def below_committed(position: CommittedPosition) -> str:
    """A stage whose effects are all in its own commit trims below its committed entry."""
    return position.last_entry_id


def below_downstream(producer: str) -> TrimFloor:
    """A stage whose outputs become rows in another stage's commit waits for that commit too.

    `producer` is the tag that stage's groups carry downstream (its outbox's producer).
    """

    def floor(position: CommittedPosition) -> str:
        floor = position.last_entry_id
        if not position.forwarded:
            return floor
        applied = applied_from(producer, position.forwarded)
        for stream, sent in position.forwarded.items():
            done = applied.get(stream, "0-0")
            if parse_entry_id(done) < parse_entry_id(sent) and parse_entry_id(done) < parse_entry_id(floor):
                floor = done
        return floor

    return floor
