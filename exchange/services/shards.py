"""What the operators' console shows of each worker shard.

Per accounts and matching shard: who leads it (the lease) and who waits to
take over (the standbys' registrations, exchange.pipeline.lease), the lease
epoch, how many entries of its input stream it has not committed yet, when it
last committed, and how many entries it dead-lettered. Read from Redis (one
round trip per shard) and the offsets table; nothing here writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from exchange.pipeline.keys import CONSUMER_GROUP, ShardKeys
from exchange.services.invariants import worker_streams
from persistence.models import StreamOffset


@dataclass(frozen=True)
class Standby:
    identity: str
    seen_s_ago: float


@dataclass(frozen=True)
class ShardStatus:
    name: str  # "accounts-0", "matching-3": the worker's name and its offset row's consumer
    stream: str
    leader: str | None
    lease_ms_left: int | None
    standbys: list[Standby]
    epoch: int  # the latest epoch a leader took (Redis)
    committed_epoch: int  # the epoch of the last commit (database)
    # Entries not delivered to the worker yet plus those delivered and not committed;
    # None when the stream has no consumer group yet (no worker ever led it).
    unprocessed: int | None
    stream_length: int
    last_entry_id: str
    last_commit_at: datetime | None
    dead_letters: int

    @property
    def kind(self) -> str:
        return self.name.partition("-")[0]

    @property
    def shard(self) -> int:
        return int(self.name.partition("-")[2])


def shard_statuses(client: redis.Redis) -> list[ShardStatus]:
    offsets = {row.consumer: row for row in StreamOffset.objects.all()}
    now_ms = time.time() * 1000
    return [_status(client, name, keys, offsets.get(name), now_ms) for name, keys in worker_streams().items()]


def _status(
    client: redis.Redis, name: str, keys: ShardKeys, offset: StreamOffset | None, now_ms: float
) -> ShardStatus:
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.lease)
    pipe.pttl(keys.lease)
    pipe.zrange(keys.standbys, 0, -1, withscores=True)
    pipe.get(keys.epoch)
    pipe.xlen(keys.stream)
    pipe.xinfo_groups(keys.stream)
    pipe.xlen(keys.dead_letters)
    leader, ttl, standbys, epoch, length, groups, dead = pipe.execute(raise_on_error=False)
    if isinstance(groups, redis.ResponseError):  # no stream yet
        groups = []
    elif isinstance(groups, Exception):
        raise groups
    return ShardStatus(
        name=name,
        stream=keys.stream,
        leader=_text(leader),
        lease_ms_left=int(ttl) if leader is not None and int(ttl) >= 0 else None,
        standbys=[
            Standby(_text(identity) or "", max(0.0, (now_ms - score) / 1000))
            for identity, score in standbys
            if _text(identity) != _text(leader)
        ],
        epoch=int(epoch or 0),
        committed_epoch=offset.lease_epoch if offset else 0,
        unprocessed=_unprocessed(client, keys.stream, groups, offset.last_entry_id if offset else "0-0"),
        stream_length=int(length),
        last_entry_id=offset.last_entry_id if offset else "0-0",
        last_commit_at=offset.updated_at if offset else None,
        dead_letters=int(dead),
    )


# On Redis before 7 (the embedded one of `make run`) the backlog is counted up to this.
_COUNT_LIMIT = 10_000


def _unprocessed(
    client: redis.Redis, stream: str, groups: list[dict[str, Any]], committed: str
) -> int | None:
    """Entries not read yet and those read but not committed (committed ones await their ack, ADR 0018)."""
    for group in groups:
        if _text(group.get("name")) == CONSUMER_GROUP:
            lag = group.get("lag")
            in_hand = 0
            if int(group.get("pending") or 0):
                read: Any = client.xpending_range(stream, CONSUMER_GROUP, f"({committed}", "+", _COUNT_LIMIT)
                in_hand = len(read or [])
            if lag is not None:  # Redis 7 says how many entries the group has not read
                return int(lag) + in_hand
            # Older ones do not: count the entries after the last one delivered (at most _COUNT_LIMIT).
            last = _text(group.get("last-delivered-id")) or "0-0"
            unread = client.xrange(stream, f"({last}", "+", count=_COUNT_LIMIT)
            return len(unread or []) + in_hand
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
