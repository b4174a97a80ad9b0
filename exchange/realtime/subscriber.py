"""Pub/sub for the private feeds' wake-ups: each message handed on from the socket's callback.

redis-py's asyncio PubSub reads every message through a task that wakes on
its socket, its retry and timeout wrappers and, on RESP3, a push handler:
about three times the event loop's CPU of `RawSubscriber`, a RawConnection
(exchange/realtime/raw_redis.py) that hands each message on from its
`data_received` (`python -m benchmarks.ws.wakeups`). The private feeds get
several messages an order, so daphne uses `RawSubscriber` on a single Redis
over TCP or a Unix socket, and redis-py's PubSub (through
`PolledSubscriber`, the same interface) on Redis Cluster and over TLS.

Both call `on_message(channel, data)` for each message and
`on_subscribed(channel)` for each confirmed SUBSCRIBE; `wait` returns when
the caller's `changed` event is set, and raises when the connection is lost
or stops answering PINGs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis

from exchange.realtime.raw_redis import RawConnection, raw_options
from spot.redis_connection import is_cluster

OnMessage = Callable[[bytes, bytes], None]
OnSubscribed = Callable[[bytes], None]

# A quiet connection is PINGed this often; one that has not answered by the next PING is lost.
KEEPALIVE_S = 30.0
_POLL_S = 0.05  # PolledSubscriber's read timeout: how soon it sees `changed`


class Subscriber(Protocol):
    async def subscribe(self, channels: set[str]) -> None: ...

    async def unsubscribe(self, channels: set[str]) -> None: ...

    async def wait(self, changed: asyncio.Event) -> None: ...

    async def aclose(self) -> None: ...


async def open_subscriber(
    client: Any, on_message: OnMessage, on_subscribed: OnSubscribed, name: str
) -> Subscriber:
    """A RawSubscriber (its connection named `name`) where the client's connections are plain TCP
    or a Unix socket, else a polled one."""
    options = raw_options(client)
    if options is not None:
        return await RawSubscriber.open(options, on_message, on_subscribed, name)
    if is_cluster(client):  # its pub/sub does not read the slot map itself
        await client.initialize()
    return PolledSubscriber(client.pubsub(), on_message, on_subscribed)


class RawSubscriber:
    """A RawConnection in pub/sub mode: each message handed on from the socket's callback."""

    def __init__(self, on_message: OnMessage, on_subscribed: OnSubscribed, keepalive_s: float) -> None:
        self.keepalive_s = keepalive_s
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._connection: RawConnection | None = None
        self._pinged = False

    @classmethod
    async def open(
        cls,
        options: dict[str, Any],
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        name: str,
        keepalive_s: float = KEEPALIVE_S,
    ) -> RawSubscriber:
        """Connected (and logged in) as the options of a redis-py pool say, and named `name`."""
        subscriber = cls(on_message, on_subscribed, keepalive_s)
        subscriber._connection = await RawConnection.open(options, name, subscriber._pushed)
        return subscriber

    async def subscribe(self, channels: set[str]) -> None:
        self._raw().send("SUBSCRIBE", *sorted(channels))

    async def unsubscribe(self, channels: set[str]) -> None:
        self._raw().send("UNSUBSCRIBE", *sorted(channels))

    async def wait(self, changed: asyncio.Event) -> None:
        """Until `changed` is set; raises ConnectionError once the connection is lost or mute."""
        connection = self._raw()
        waiter = asyncio.ensure_future(changed.wait())
        try:
            while not changed.is_set():
                done, _ = await asyncio.wait(
                    (waiter, connection.lost), timeout=self.keepalive_s, return_when=asyncio.FIRST_COMPLETED
                )
                if connection.lost in done:
                    connection.lost.result()  # raises why
                if not done:  # quiet: it must answer the PING by the next round
                    if not connection.heard and self._pinged:
                        connection.close()
                        raise redis.ConnectionError("the pub/sub connection did not answer a PING")
                    connection.heard, self._pinged = False, True
                    connection.send("PING")
        finally:
            waiter.cancel()

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def _raw(self) -> RawConnection:
        if self._connection is None:
            raise redis.ConnectionError("the pub/sub connection is closed")
        return self._connection

    def _pushed(self, reply: list[Any]) -> bool:
        kind = reply[0]
        if kind == b"message":
            self._on_message(reply[1], reply[2])
        elif kind == b"subscribe":
            self._on_subscribed(reply[1])
        elif kind not in (b"unsubscribe", b"pong"):
            return False
        return True


class PolledSubscriber:
    """redis-py's PubSub behind the same interface: read with a short timeout, so `changed` is seen."""

    def __init__(self, pubsub: aioredis.client.PubSub, on_message: OnMessage, on_subscribed: OnSubscribed):
        self._pubsub = pubsub
        self._on_message = on_message
        self._on_subscribed = on_subscribed

    async def subscribe(self, channels: set[str]) -> None:
        await self._pubsub.subscribe(*channels)

    async def unsubscribe(self, channels: set[str]) -> None:
        await self._pubsub.unsubscribe(*channels)

    async def wait(self, changed: asyncio.Event) -> None:
        while not changed.is_set():
            message: Any = await self._pubsub.get_message(timeout=_POLL_S)
            if message is None:
                continue
            if message["type"] == "message":
                self._on_message(message["channel"], message["data"])
            elif message["type"] == "subscribe":
                self._on_subscribed(message["channel"])

    async def aclose(self) -> None:
        with contextlib.suppress(redis.RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
