"""One Redis connection read by an asyncio protocol: what daphne's hot reads go through.

redis-py's asyncio client reads every reply through a task woken by its
socket, retry and timeout wrappers and a health check; for one reply that
is most of the cost of a read the event loop pays. `RawConnection` parses
what the socket gives it with hiredis in `data_received`: a pub/sub
message is handed to a callback there (no task wakes), and a reply to a
command resolves its caller's future. Measured with the readers it serves:
`python -m benchmarks.ws.wakeups`, docs/adr/0005-websocket-fan-out.md.

It speaks RESP2 to a single Redis over TCP or a Unix socket, connecting as
a redis-py pool's options say (host, port or path, user and password,
database); `raw_options` says None for anything else (Redis Cluster, TLS),
where the callers keep redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Callable
from typing import Any, cast

import hiredis
import redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

CONNECT_TIMEOUT_S = 2.0

# Given each reply that is a list; True when it took it (a pub/sub message), so no caller waits for it.
OnPush = Callable[[list[Any]], bool]


def raw_options(client: Any) -> dict[str, Any] | None:
    """The connection options of a redis-py client a RawConnection can use, or None."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool.connection_class not in (Connection, UnixDomainSocketConnection):
        return None
    options: dict[str, Any] = pool.connection_kwargs
    return options


class RawConnection(asyncio.Protocol):
    def __init__(self, on_push: OnPush | None = None) -> None:
        self._on_push = on_push
        self._reader = hiredis.Reader()
        self._transport: asyncio.Transport | None = None
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.heard = False  # anything read since the owner last cleared it

    @classmethod
    async def open(cls, options: dict[str, Any], name: str, on_push: OnPush | None = None) -> RawConnection:
        """Connected and logged in as `options` say, and named `name` (seen in CLIENT LIST)."""
        loop = asyncio.get_running_loop()
        connection = cls(on_push)
        try:
            async with asyncio.timeout(options.get("socket_connect_timeout") or CONNECT_TIMEOUT_S):
                if options.get("path"):
                    await loop.create_unix_connection(lambda: connection, options["path"])
                else:
                    host, port = options.get("host", "localhost"), int(options.get("port", 6379))
                    await loop.create_connection(lambda: connection, host, port)
                password = options.get("password")
                if password:
                    username = options.get("username")
                    await connection.call("AUTH", *([username] if username else []), password)
                if int(options.get("db") or 0):
                    await connection.call("SELECT", int(options["db"]))
                with contextlib.suppress(redis.ResponseError):  # an ACL may refuse it; it is only a label
                    await connection.call("CLIENT", "SETNAME", name)
        except (OSError, TimeoutError) as exc:
            connection.close()
            raise redis.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        except BaseException:
            connection.close()
            raise
        return connection

    async def call(self, *command: str | int, timeout: float | None = None) -> Any:
        """The reply to `command`; the connection is closed if it does not come within `timeout` s."""
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.send(*command)
        try:
            async with asyncio.timeout(timeout):
                done, _ = await asyncio.wait((waiter, self.lost), return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            self.close()  # a late reply would answer the next command
            raise redis.TimeoutError(f"no reply to {command[0]} within {timeout} s") from None
        except BaseException:
            self.close()
            raise
        if waiter not in done:
            self.lost.result()  # raises why
        reply = waiter.result()
        if isinstance(reply, hiredis.ReplyError):
            error = redis.AuthenticationError if command[0] == "AUTH" else redis.ResponseError
            raise error(str(reply))
        return reply

    def send(self, *command: str | int) -> None:
        """Write a command whose answer comes as a push (SUBSCRIBE, a PING when subscribed)."""
        if self._transport is None or self.lost.done():
            raise redis.ConnectionError("the Redis connection is closed")
        packed: Any = command  # typed as a 1-tuple in hiredis's stubs
        self._transport.write(hiredis.pack_command(packed))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None
        self._fail(redis.ConnectionError("the Redis connection is closed"))

    # ------------------------------------------------------------- protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports have asyncio.Transport's methods
        # without being its subclasses, and an operator may run daphne on uvloop.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.heard = True
        self._reader.feed(data)
        on_push = self._on_push
        while (reply := self._reader.gets()) is not False:
            if on_push is not None and type(reply) is list and on_push(reply):
                continue
            if self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(reply)
            elif isinstance(reply, hiredis.ReplyError):
                self._fail(redis.ConnectionError(f"Redis refused the connection's command: {reply}"))
                self.close()
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(redis.ConnectionError(f"the Redis connection was lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        if not self.lost.done():
            self.lost.set_exception(error)
            self.lost.exception()  # retrieved: only a caller needs it raised
