"""The dead letters of the workers: browse, replay, discard.

A worker that cannot read an entry of its input stream appends it to its
shard's dead-letter stream (`spot:{a0}:dlq`, `spot:{m3}:dlq`) as
``entry`` (the input entry's id), ``reason`` and ``fields`` (the entry's
fields as JSON), and goes on (exchange.pipeline.worker). A settlement group
that failed inside a batch entry is kept as ``{"group": ..., "d": ...}``.

Replaying appends the entry's fields again to the stream it came from (it
gets a new entry id, so a place gets a new order id) and removes the dead
letter, in one step: two operators cannot replay it twice. A settlement group
cannot be replayed: its receiver drops groups older than the last one it
applied from that producer, so it would vanish silently; it is kept, or
discarded once settled by hand. Every replay and discard writes an
OperatorAction holding the whole dead letter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from exchange.pipeline.keys import ShardKeys
from exchange.services import operator_log
from exchange.services.invariants import worker_streams

# Atomically: the dead letter is still there, its fields go back, it goes.
# KEYS: dead-letter stream, input stream. ARGV: dead letter id, then field, value, ...
_REPLAY = """
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return false end
local entry = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return entry
"""

PAGE = 200


class DeadLetterError(Exception):
    """A dead letter cannot be acted on as asked."""


class DeadLetterMissing(DeadLetterError):
    """No such dead letter (another operator replayed or discarded it, or the id is wrong)."""


class NotReplayable(DeadLetterError):
    """The dead letter is a settlement group, which its receiver would drop if replayed."""


@dataclass(frozen=True)
class DeadLetter:
    worker: str  # "accounts-0", "matching-3"
    id: str  # its id in the dead-letter stream
    entry: str  # the input entry's id
    reason: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def replayable(self) -> bool:
        return "group" not in self.fields and bool(self.fields)

    @property
    def summary(self) -> str:
        """The entry's content as text, for a list."""
        return json.dumps(self.fields, ensure_ascii=False)


def dead_letters(client: redis.Redis, worker: str | None = None, limit: int = PAGE) -> list[DeadLetter]:
    """The newest dead letters of every worker (or of one), newest first, at most `limit` per worker."""
    found: list[DeadLetter] = []
    for name, keys in worker_streams().items():
        if worker is not None and name != worker:
            continue
        page: Any = client.xrevrange(keys.dead_letters, count=limit)
        found.extend(_dead_letter(name, entry_id, fields) for entry_id, fields in page)
    return found


def dead_letter(client: redis.Redis, worker: str, letter_id: str) -> DeadLetter:
    keys = _keys(worker)
    try:
        page: Any = client.xrange(keys.dead_letters, letter_id, letter_id)
    except redis.ResponseError:  # not an entry id
        raise DeadLetterMissing(f"{worker} has no dead letter {letter_id}") from None
    if not page:
        raise DeadLetterMissing(f"{worker} has no dead letter {letter_id}")
    return _dead_letter(worker, *page[0])


def replay(
    client: redis.Redis, worker: str, letter_id: str, operator: str, via: str = operator_log.ADMIN
) -> str:
    """Append the dead letter's entry to its worker's input stream again; the new entry's id."""
    letter = dead_letter(client, worker, letter_id)
    if not letter.replayable:
        raise NotReplayable(
            f"{worker} dead letter {letter_id} is a settlement group; it cannot be replayed, only discarded"
        )
    keys = _keys(worker)
    args = [letter_id, *(part for pair in letter.fields.items() for part in pair)]
    entry = client.register_script(_REPLAY)(keys=[keys.dead_letters, keys.stream], args=args)
    if entry is None:
        raise DeadLetterMissing(f"{worker} dead letter {letter_id} was just replayed or discarded")
    new_entry = entry.decode() if isinstance(entry, bytes) else str(entry)
    operator_log.record(
        operator,
        "replay_dead_letter",
        f"{worker} {letter_id}",
        {**_detail(letter), "new_entry": new_entry},
        via,
    )
    return new_entry


def discard(
    client: redis.Redis, worker: str, letter_id: str, operator: str, via: str = operator_log.ADMIN
) -> None:
    letter = dead_letter(client, worker, letter_id)
    if not client.xdel(_keys(worker).dead_letters, letter_id):
        raise DeadLetterMissing(f"{worker} dead letter {letter_id} was just replayed or discarded")
    operator_log.record(operator, "discard_dead_letter", f"{worker} {letter_id}", _detail(letter), via)


def _keys(worker: str) -> ShardKeys:
    keys = worker_streams().get(worker)
    if keys is None:
        raise DeadLetterMissing(f"no worker {worker!r}; workers are {', '.join(worker_streams())}")
    return keys


def _dead_letter(worker: str, entry_id: bytes, raw: dict[bytes, bytes]) -> DeadLetter:
    values = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in raw.items()}
    try:
        fields = json.loads(values.get("fields", "{}"))
    except ValueError:
        fields = {}
    return DeadLetter(
        worker=worker,
        id=entry_id.decode(),
        entry=values.get("entry", ""),
        reason=values.get("reason", ""),
        fields={str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {},
    )


def _detail(letter: DeadLetter) -> dict[str, Any]:
    return {"worker": letter.worker, "entry": letter.entry, "reason": letter.reason, "fields": letter.fields}
