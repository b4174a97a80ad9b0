"""Each connected trader's private feed: the user's events stream, resumable by seq.

The matching and accounts workers append the order, fill and balance
updates of each batch to `{prefix}:user:{id}:events` as one entry, one
event per field "0", "1", ... and the user's number of the first in "s"
(exchange/pipeline/user_events.py; trimmed to about USER_EVENTS_MAXLEN
entries), and PUBLISH the same entry on `{prefix}:user:{id}`. The stream
is the source: an event's `seq` is s + its field's number, one more than
the user's previous event, and a client resumes from the last seq it has.
This process SUBSCRIBEs once per connected user. A publication of the entry
right after the last one delivered goes out as it came; any other (one
missed while reconnecting, or arriving while the stream is being read)
only wakes a read of the stream after the last entry delivered (XRANGE), so
nothing is lost even if wake-ups merge or arrive while it reads. Per-user
keys carry no shared hash tag, so the one-key XRANGE (not a many-stream
XREAD) also works on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import redis

from exchange.pipeline.ids import entry_id_less_or_equal
from exchange.pipeline.user_events import events_stream, parse_announcement
from exchange.realtime.frames import Frame, control, event_frame
from exchange.realtime.outlet import Outlet
from exchange.realtime.protocol import PRIVATE, ProtocolError
from exchange.realtime.push_times import PushTimes
from exchange.realtime.subscriber import Subscriber
from exchange.realtime.subscriptions import Subscription
from spot.retry import next_backoff

if TYPE_CHECKING:
    from exchange.realtime.hub import Hub

logger = logging.getLogger(__name__)

_PAGE = 500


def user_channel(user_id: int) -> str:
    """The registry's name of a user's private channel; clients only ever see "private"."""
    return f"user:{user_id}"


def first_seq(fields: dict[bytes, bytes]) -> int | None:
    """The seq of an entry's event "0" (None: an entry written before events were numbered)."""
    value = fields.get(b"s")
    return int(value) if value is not None and value.isdigit() else None


def last_seq(fields: dict[bytes, bytes]) -> int:
    """The seq of an entry's last event (0 for an unnumbered entry: numbering starts after it)."""
    first = first_seq(fields)
    if first is None:
        return 0
    return first + sum(1 for name in fields if name.isdigit()) - 1


def private_frames(fields: dict[bytes, bytes], after: int = 0) -> list[Frame]:
    """The frames of one user events entry whose seq is above `after`.

    Entries written before events were numbered carry no "s" and are not
    sent: a client could not place them.
    """
    first = first_seq(fields)
    if first is None:
        return []
    events = ((int(name), value) for name, value in fields.items() if name.isdigit())
    return event_frames(first, events, after)


def event_frames(first: int, events: Iterable[tuple[int, bytes]], after: int = 0) -> list[Frame]:
    """The frames of an entry's events (their place in it, their JSON text) whose seq is above `after`."""
    frames = []
    for place, value in events:
        if first + place <= after:
            continue
        raw = value.decode()
        kind = _type_of(raw)
        if kind is not None:
            frames.append(event_frame(kind, PRIVATE, raw, first + place))
    return frames


_TYPE_FIRST = '{"type":"'


def _type_of(raw: str) -> str | None:
    """An event's type: read off the front where the workers write it first, else parsed."""
    if raw.startswith(_TYPE_FIRST):
        end = raw.find('"', len(_TYPE_FIRST))
        kind = raw[len(_TYPE_FIRST) : end]
        if end > 0 and kind.isidentifier():
            return kind
    try:
        kind = json.loads(raw)["type"]
    except (KeyError, TypeError, ValueError):
        return None
    return kind if isinstance(kind, str) else None


class UserStream:
    def __init__(self, user_id: int, prefix: str) -> None:
        self.user_id = user_id
        self.pubsub_channel = f"{prefix}:user:{user_id}"
        self.key = events_stream(self.pubsub_channel)
        self.channel = user_channel(user_id)
        self.last: str | None = None  # the last entry handed to this process's subscribers
        self.last_seq: int | None = None  # the seq of its last event (None: not known)
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
        self.push_times = PushTimes(hub.redis, hub.prefix)

    # ----------------------------------------------------------- subscribing

    async def subscribe(
        self, outlet: Outlet, user_id: int, since: int | None, request_id: int | str | None
    ) -> None:
        stream = self.streams.get(user_id)
        if stream is None:
            stream = self.streams[user_id] = UserStream(user_id, self.hub.prefix)
            self._by_pubsub_channel[stream.pubsub_channel.encode()] = user_id
        subscription = self.hub.registry.add(outlet, stream.channel)
        self._ensure_listener()
        try:
            head_entry, head, replayable = await self._bounds(stream, since)
            start = since if since is not None and replayable else head
            subscription.send_now(control("subscribed", request_id, channel=PRIVATE, seq=start))
            subscription.floor = (start,)
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
            elif since is not None and since < head:
                await self._replay(subscription, stream.key, since)
        except redis.RedisError as exc:
            self.hub.registry.remove(outlet, stream.channel)
            self.forget_unlistened(user_id)
            raise ProtocolError("UNAVAILABLE", "the event store is briefly unavailable; retry") from exc
        if not self.hub.registry.is_current(subscription):
            return  # unsubscribed or disconnected meanwhile
        subscription.activate()
        if stream.last is None:
            stream.last, stream.last_seq = head_entry, head
        self.wake(user_id)

    async def _bounds(self, stream: UserStream, since: int | None) -> tuple[str, int, bool]:
        """The newest entry id, the newest seq, and whether every event after `since` is still kept."""
        try:
            # One command, so the newest entry and the newest seq describe the same moment.
            info: Any = await self.hub.redis.xinfo_stream(stream.key)
        except redis.ResponseError:  # no such key: no event yet, or none kept
            return "0-0", 0, since is None or since == 0
        head_entry = info["last-generated-id"].decode()
        last = info.get("last-entry")
        head = last_seq(last[1]) if last else 0
        if since is None:
            return head_entry, head, True
        if since > head:
            return head_entry, head, False  # a seq this user never had: the history was reset
        first = info.get("first-entry")
        if not first:
            return head_entry, head, since == head
        # Events before the first entry's were trimmed. An unnumbered first entry is older than
        # every numbered one, so then nothing numbered was trimmed.
        oldest = first_seq(first[1])
        return head_entry, head, since >= (oldest if oldest is not None else 1) - 1

    async def _replay(self, subscription: Subscription, key: str, since: int) -> None:
        """Every kept event after `since`: found from the newest entry back, sent oldest first."""
        entries: list[Any] = []
        newest = "+"
        while True:
            page: Any = await self.hub.redis.xrevrange(key, max=newest, min="-", count=_PAGE)
            entries += page
            oldest = first_seq(page[-1][1]) if page else None
            if oldest is None or oldest <= since + 1 or len(page) < _PAGE:
                break
            newest = f"({page[-1][0].decode()}"
        for _, fields in reversed(entries):
            for frame in private_frames(fields, since):
                subscription.send_now(frame)

    def forget_unlistened(self, user_id: int) -> None:
        stream = self.streams.get(user_id)
        if stream is not None and not self.hub.registry.listened(stream.channel):
            del self.streams[user_id]
            self._by_pubsub_channel.pop(stream.pubsub_channel.encode(), None)
            self._changed.set()

    # --------------------------------------------------------------- reading

    def announced(self, user_id: int, data: bytes) -> None:
        """A published entry: delivered as it came when it is the next one, else read from the stream.

        Taking the events from the publication saves a read of the stream
        per wake-up. Only the entry right after the last one delivered may
        be taken so (its first seq one above the last), and only while no
        read of the stream is under way, so events never go out of order.
        An entry already delivered (its id not above the last) needs nothing.
        """
        stream = self.streams.get(user_id)
        if stream is None or stream.last is None:
            return
        entry = parse_announcement(data)
        if entry is not None and entry_id_less_or_equal(entry.entry_id, stream.last):
            return  # read from the stream before its publication came
        if (
            entry is None
            or stream.fetching
            or stream.dirty
            or stream.last_seq is None
            or entry.first_seq != stream.last_seq + 1
        ):
            self.wake(user_id)
            return
        self.hub.registry.publish_many(stream.channel, event_frames(entry.first_seq, enumerate(entry.events)))
        self._pushed(user_id, entry.events)
        stream.last, stream.last_seq = entry.entry_id, entry.last_seq

    def _pushed(self, user_id: int, events: Iterable[bytes]) -> None:
        """The last stage of the orders' journeys these events carry (push_times.py)."""
        if self.push_times.pushed(user_id, events):
            self._spawn(self.push_times.flush_later())

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
                    self.hub.registry.publish_many(stream.channel, private_frames(fields))
                    self._pushed(stream.user_id, (v for name, v in fields.items() if name.isdigit()))
                    stream.last = entry_id.decode()
                    stream.last_seq = last_seq(fields) if first_seq(fields) is not None else None
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
        subscriber: Subscriber | None = None
        subscribed: set[str] = set()
        backoff = 0.0
        wanted: set[str] = set()
        while True:
            if self._changed.is_set() or subscriber is None:
                wanted = {stream.pubsub_channel for stream in self.streams.values()}
            if not wanted:
                # Decided with no await before the feed forgets this task (see ShardReader.run).
                self._listener = None
                if subscriber is not None:
                    await subscriber.aclose()
                return
            try:
                if subscriber is None:
                    subscriber = await self.hub.subscriber(self._published, self._subscribed)
                    subscribed = set()
                    # Users may have come or gone while it connected: what is wanted is read again.
                    self._changed.set()
                    continue
                if self._changed.is_set():
                    self._changed.clear()
                    if wanted - subscribed:
                        await subscriber.subscribe(wanted - subscribed)
                    if subscribed - wanted:
                        await subscriber.unsubscribe(subscribed - wanted)
                    subscribed = wanted
                # Messages are handed to _published as they come; this returns on a change.
                await subscriber.wait(self._changed)
                backoff = 0.0
            except redis.RedisError as exc:
                backoff = next_backoff(backoff)
                logger.warning("ws: user wake-ups lost (%s); resubscribing in %.1fs", exc, backoff)
                if subscriber is not None:
                    await subscriber.aclose()
                subscriber = None
                self._changed.set()
                await asyncio.sleep(backoff)

    def _published(self, channel: bytes, data: bytes) -> None:
        user_id = self._by_pubsub_channel.get(channel)
        if user_id is not None:
            self.announced(user_id, data)

    def _subscribed(self, channel: bytes) -> None:
        """A confirmed SUBSCRIBE wakes the user: events before it reached Redis had no one listening."""
        user_id = self._by_pubsub_channel.get(channel)
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
