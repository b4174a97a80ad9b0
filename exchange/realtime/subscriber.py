"""Pub/sub for the private feeds' wake-ups: each message handed on from the socket's callback.

redis-py's asyncio PubSub reads every message through a task that wakes on
its socket, its retry and timeout wrappers and, on RESP3, a push handler.
A message arriving alone (the usual case below a few hundred orders a
second) costs the event loop about three times what a protocol costs that
parses what the socket gives it with hiredis and calls back at once
(`python -m benchmarks.realtime.pubsub`; docs/BENCHMARKS.md). The private
feeds get several messages an order, so daphne uses `RawSubscriber` on a
single Redis over TCP or a Unix socket, and redis-py's PubSub (through
`PolledSubscriber`, the same interface) on Redis Cluster and over TLS.

Both call `on_message(channel, data)` for each message and
`on_subscribed(channel)` for each confirmed SUBSCRIBE; `wait` returns when
the caller's `changed` event is set, and raises when the connection is lost
or stops answering PINGs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

import hiredis
import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

logger = logging.getLogger(__name__)

OnMessage = Callable[[bytes, bytes], None]
OnSubscribed = Callable[[bytes], None]

# A quiet connection is PINGed this often; one that has not answered by the next PING is lost.
KEEPALIVE_S = 30.0
CONNECT_TIMEOUT_S = 2.0
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
    pool = getattr(client, "connection_pool", None)
    if pool is not None and pool.connection_class in (Connection, UnixDomainSocketConnection):
        return await RawSubscriber.open(pool.connection_kwargs, on_message, on_subscribed, name)
    if hasattr(client, "initialize"):  # a cluster client: its pub/sub does not read the slot map itself
        await client.initialize()
    return PolledSubscriber(client.pubsub(), on_message, on_subscribed)


class RawSubscriber(asyncio.Protocol):
    def __init__(self, on_message: OnMessage, on_subscribed: OnSubscribed, keepalive_s: float) -> None:
        self.keepalive_s = keepalive_s
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._reader = hiredis.Reader()
        self._transport: asyncio.Transport | None = None
        self._replies: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._heard = False  # anything read since the last PING
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
        """Connected (and authenticated) as the options of a redis-py pool say, and named `name`."""
        loop = asyncio.get_running_loop()
        subscriber = cls(on_message, on_subscribed, keepalive_s)
        try:
            async with asyncio.timeout(options.get("socket_connect_timeout") or CONNECT_TIMEOUT_S):
                if options.get("path"):
                    await loop.create_unix_connection(lambda: subscriber, options["path"])
                else:
                    host, port = options.get("host", "localhost"), int(options.get("port", 6379))
                    await loop.create_connection(lambda: subscriber, host, port)
                password = options.get("password")
                if password:
                    username = options.get("username")
                    await subscriber._call(["AUTH", *([username] if username else []), password])
                with contextlib.suppress(redis.ResponseError):  # an ACL may refuse it; it is only a label
                    await subscriber._call(["CLIENT", "SETNAME", name])  # seen in CLIENT LIST
        except (OSError, TimeoutError) as exc:
            subscriber._close()
            raise redis.ConnectionError(f"cannot subscribe: {exc}") from exc
        except BaseException:
            subscriber._close()
            raise
        return subscriber

    # ------------------------------------------------------------ interface

    async def subscribe(self, channels: set[str]) -> None:
        self._send(["SUBSCRIBE", *sorted(channels)])

    async def unsubscribe(self, channels: set[str]) -> None:
        self._send(["UNSUBSCRIBE", *sorted(channels)])

    async def wait(self, changed: asyncio.Event) -> None:
        """Until `changed` is set; raises ConnectionError once the connection is lost or mute."""
        waiter = asyncio.ensure_future(changed.wait())
        try:
            while not changed.is_set():
                done, _ = await asyncio.wait(
                    (waiter, self._lost), timeout=self.keepalive_s, return_when=asyncio.FIRST_COMPLETED
                )
                if self._lost in done:
                    self._lost.result()  # raises why
                if not done:  # quiet: it must answer the PING by the next round
                    if not self._heard and self._pinged:
                        self._close()
                        raise redis.ConnectionError("the pub/sub connection did not answer a PING")
                    self._heard, self._pinged = False, True
                    self._send(["PING"])
        finally:
            waiter.cancel()

    async def aclose(self) -> None:
        self._close()

    # ------------------------------------------------------------- protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._heard = True
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if type(reply) is list and reply:
                kind = reply[0]
                if kind == b"message":
                    self._on_message(reply[1], reply[2])
                    continue
                if kind == b"subscribe":
                    self._on_subscribed(reply[1])
                    continue
                if kind in (b"unsubscribe", b"pong"):
                    continue
            if self._replies:
                waiter = self._replies.popleft()
                if not waiter.done():
                    waiter.set_result(reply)
            elif isinstance(reply, hiredis.ReplyError):
                self._fail(redis.ConnectionError(f"the pub/sub connection was refused: {reply}"))
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(redis.ConnectionError(f"the pub/sub connection was lost: {exc or 'closed'}"))

    # -------------------------------------------------------------- helpers

    async def _call(self, command: list[str]) -> Any:
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies.append(waiter)
        self._send(command)
        done, _ = await asyncio.wait((waiter, self._lost), return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            self._lost.result()
        reply = waiter.result()
        if isinstance(reply, hiredis.ReplyError):
            error = redis.AuthenticationError if command[0] == "AUTH" else redis.ResponseError
            raise error(str(reply))
        return reply

    def _send(self, command: list[str]) -> None:
        if self._transport is None or self._lost.done():
            raise redis.ConnectionError("the pub/sub connection is closed")
        packed: Any = tuple(command)  # typed as a 1-tuple in hiredis's stubs
        self._transport.write(hiredis.pack_command(packed))

    def _fail(self, error: Exception) -> None:
        if not self._lost.done():
            self._lost.set_exception(error)
            self._lost.exception()  # retrieved: only a waiter needs it raised
        self._close()

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        if not self._lost.done():
            self._lost.set_exception(redis.ConnectionError("the pub/sub connection is closed"))
            self._lost.exception()


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
