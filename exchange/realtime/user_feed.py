"""Each connected trader's private feed: the user's events stream, resumable by entry id.

The matching and accounts workers XADD the order, fill and balance updates
of each batch to `{prefix}:user:{id}:events` as one entry, one event per
field "0", "1", ... (trimmed to about USER_EVENTS_MAXLEN entries), and
PUBLISH them as a JSON array on `{prefix}:user:{id}`. The stream is the
source: an event's `seq` is its entry id ("ms-seq", for the entry's last
event) or the entry id and its index ("ms-seq.n", for the others), and a
client resumes from the last seq it has. The publish is
only a wake-up: this process SUBSCRIBEs once per connected user, and on each
message reads the stream after the last entry it delivered (XRANGE), so
nothing is lost even if wake-ups merge or arrive while it reads. Per-user
keys carry no shared hash tag, so the one-key XRANGE (not a many-stream
XREAD) also works on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

import redis

from exchange.realtime.frames import (
    WHOLE_ENTRY,
    Frame,
    Position,
    control,
    event_frame,
    parse_entry_id,
    parse_private_seq,
)
from exchange.realtime.outlet import Outlet
from exchange.realtime.protocol import PRIVATE, ProtocolError
from exchange.realtime.subscriptions import Subscription

if TYPE_CHECKING:
    from exchange.realtime.hub import Hub

logger = logging.getLogger(__name__)

_PAGE = 500
# How long a new user's SUBSCRIBE may wait for the listener; events meanwhile
# are read from the stream once the subscription is confirmed.
_LISTEN_POLL_S = 0.05


def user_channel(user_id: int) -> str:
    """The registry's name of a user's private channel; clients only ever see "private"."""
    return f"user:{user_id}"


def entry_text(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


def private_frames(entry_id: bytes, fields: dict[bytes, bytes], after: int = -1) -> list[Frame]:
    """The frames of one user events entry, from the event after index `after` on."""
    entry = entry_id.decode()
    ms, sequence = parse_entry_id(entry)
    # An entry of one event in a "d" field is how workers wrote them before batching.
    events = [fields[b"d"]] if b"d" in fields else [v for name, v in fields.items() if name.isdigit()]
    frames = []
    last = len(events) - 1
    for index, value in enumerate(events):
        if index <= after:
            continue
        try:
            raw = value.decode()
            kind = json.loads(raw)["type"]
        except (KeyError, TypeError, ValueError):
            continue
        if index == last:
            frames.append(event_frame(kind, PRIVATE, raw, (ms, sequence, WHOLE_ENTRY), entry))
        else:
            frames.append(event_frame(kind, PRIVATE, raw, (ms, sequence, index), f"{entry}.{index}"))
    return frames


class UserStream:
    def __init__(self, user_id: int, prefix: str) -> None:
        self.user_id = user_id
        self.key = f"{prefix}:user:{user_id}:events"
        self.pubsub_channel = f"{prefix}:user:{user_id}"
        self.channel = user_channel(user_id)
        self.last: str | None = None  # the last entry handed to this process's subscribers
        self.dirty = False
        self.fetching = False


class UserFeed:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.streams: dict[int, UserStream] = {}
        self._by_pubsub_channel: dict[bytes, int] = {}
        self._listener: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------- subscribing

    async def subscribe(
        self, outlet: Outlet, user_id: int, since: str | None, request_id: int | str | None
    ) -> None:
        stream = self.streams.get(user_id)
        if stream is None:
            stream = self.streams[user_id] = UserStream(user_id, self.hub.prefix)
            self._by_pubsub_channel[stream.pubsub_channel.encode()] = user_id
        subscription = self.hub.registry.add(outlet, stream.channel)
        self._ensure_listener()
        try:
            head, replayable = await self._bounds(stream.key, since)
            start = since if since is not None and replayable else head
            subscription.send_now(control("subscribed", request_id, channel=PRIVATE, seq=start))
            subscription.floor = parse_private_seq(start)
            if since is not None and not replayable:
                subscription.send_now(
                    control(
                        "resync",
                        channel=PRIVATE,
                        seq=head,
                        reason="REPLAY_UNAVAILABLE",
                        message=f"events after {since} are no longer kept; fetch orders and balances "
                        f"over REST, then apply the events after seq {head}",
                    )
                )
            elif since is not None:
                await self._replay(subscription, stream.key, since)
        except redis.RedisError as exc:
            self.hub.registry.remove(outlet, stream.channel)
            self.forget_unlistened(user_id)
            raise ProtocolError("UNAVAILABLE", "the event store is briefly unavailable; retry") from exc
        if not self.hub.registry.is_current(subscription):
            return  # unsubscribed or disconnected meanwhile
        subscription.activate()
        if stream.last is None:
            stream.last = entry_text(subscription.floor)
        self.wake(user_id)

    async def _bounds(self, key: str, since: str | None) -> tuple[str, bool]:
        """The stream's newest id, and whether every entry after `since` is still in it."""
        try:
            info: Any = await self.hub.redis.xinfo_stream(key)
        except redis.ResponseError:  # no such key: no event yet, or none kept
            return "0-0", since is not None and parse_private_seq(since)[:2] == (0, 0)
        head = info["last-generated-id"].decode()
        if since is None:
            return head, True
        wanted = parse_private_seq(since)[:2]
        if wanted > parse_entry_id(head):
            return head, False  # an id this stream never issued: its history was reset
        first = info.get("first-entry")
        if not first:
            return head, wanted == parse_entry_id(head)
        # Entries before the first were trimmed; only an id at or after it proves none is missing.
        return head, wanted >= parse_entry_id(first[0].decode())

    async def _replay(self, subscription: Subscription, key: str, since: str) -> None:
        ms, sequence, index = parse_private_seq(since)
        after = f"{ms}-{sequence}"
        if index != WHOLE_ENTRY:  # the rest of the entry the client was in the middle of
            current: Any = await self.hub.redis.xrange(key, min=after, max=after)
            for entry_id, fields in current:
                for frame in private_frames(entry_id, fields, index):
                    subscription.send_now(frame)
        while True:
            entries: Any = await self.hub.redis.xrange(key, min=f"({after}", count=_PAGE)
            for entry_id, fields in entries:
                for frame in private_frames(entry_id, fields):
                    subscription.send_now(frame)
            if len(entries) < _PAGE:
                return
            after = entries[-1][0].decode()

    def forget_unlistened(self, user_id: int) -> None:
        stream = self.streams.get(user_id)
        if stream is not None and not self.hub.registry.listened(stream.channel):
            del self.streams[user_id]
            self._by_pubsub_channel.pop(stream.pubsub_channel.encode(), None)
            self._changed.set()

    # --------------------------------------------------------------- reading

    def wake(self, user_id: int) -> None:
        stream = self.streams.get(user_id)
        if stream is None or stream.last is None:
            return
        stream.dirty = True
        if not stream.fetching:
            stream.fetching = True
            self._spawn(self._fetch(stream))

    async def _fetch(self, stream: UserStream) -> None:
        try:
            while stream.dirty and self.streams.get(stream.user_id) is stream:
                stream.dirty = False
                assert stream.last is not None
                entries: Any = await self.hub.redis.xrange(stream.key, min=f"({stream.last}", count=_PAGE)
                for entry_id, fields in entries:
                    for frame in private_frames(entry_id, fields):
                        self.hub.registry.publish(stream.channel, frame)
                    stream.last = entry_id.decode()
                if len(entries) == _PAGE:
                    stream.dirty = True
        except redis.RedisError as exc:
            logger.warning("ws: reading the events of user %s failed: %s; retrying", stream.user_id, exc)
            asyncio.get_running_loop().call_later(1.0, self.wake, stream.user_id)
        finally:
            stream.fetching = False

    def _ensure_listener(self) -> None:
        self._changed.set()
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="ws-users")

    async def _listen(self) -> None:
        pubsub: Any = None
        subscribed: set[str] = set()
        backoff = 0.0
        while True:
            wanted = {stream.pubsub_channel for stream in self.streams.values()}
            if not wanted:
                # Decided with no await before the feed forgets this task (see ShardReader.run).
                self._listener = None
                if pubsub is not None:
                    await _close_quietly(pubsub)
                return
            try:
                if pubsub is None:
                    pubsub = self.hub.redis.pubsub()
                    subscribed = set()
                if self._changed.is_set():
                    self._changed.clear()
                    if wanted - subscribed:
                        await pubsub.subscribe(*(wanted - subscribed))
                    if subscribed - wanted:
                        await pubsub.unsubscribe(*(subscribed - wanted))
                    subscribed = wanted
                message = await pubsub.get_message(timeout=_LISTEN_POLL_S)
                backoff = 0.0
            except redis.RedisError as exc:
                backoff = min(5.0, max(0.1, backoff * 2))
                logger.warning("ws: user wake-ups lost (%s); resubscribing in %.1fs", exc, backoff)
                await _close_quietly(pubsub)
                pubsub = None
                self._changed.set()
                await asyncio.sleep(backoff)
                continue
            if message is None:
                continue
            # A confirmed SUBSCRIBE also wakes the user: events that came
            # before it reached Redis had no one listening.
            if message["type"] in ("message", "subscribe"):
                user_id = self._by_pubsub_channel.get(message["channel"])
                if user_id is not None:
                    self.wake(user_id)

    # --------------------------------------------------------------- closing

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._listener] if self._listener else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._listener = None


async def _close_quietly(pubsub: Any) -> None:
    with contextlib.suppress(redis.RedisError, OSError):
        await pubsub.aclose()
