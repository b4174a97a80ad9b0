"""Daphne's raw Redis connections: pub/sub messages handed on as they come, a lost or mute one noticed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from django.conf import settings

from exchange.realtime.raw_redis import RawConnection
from exchange.realtime.subscriber import PolledSubscriber, RawSubscriber, Subscriber, open_subscriber

GUARD_S = 30  # a guard for a broken subscriber, not a measure of speed


@pytest.fixture(autouse=True)
def one_server(redis_backend: str) -> None:
    if redis_backend == "cluster":
        pytest.skip("RawSubscriber serves a single Redis; on a cluster the feed polls redis-py's PubSub")


class Heard:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes]] = []
        self.confirmed: list[bytes] = []
        self._news = asyncio.Event()

    def message(self, channel: bytes, data: bytes) -> None:
        self.messages.append((channel, data))
        self._news.set()

    def subscribed(self, channel: bytes) -> None:
        self.confirmed.append(channel)
        self._news.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(GUARD_S):
            while not done():
                self._news.clear()
                await self._news.wait()


def run(body: Callable[[], Any]) -> None:
    asyncio.run(body())


async def opened(kind: str, heard: Heard, name: str) -> Subscriber:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    if kind == "raw":
        subscriber = await open_subscriber(client, heard.message, heard.subscribed, name)
        assert isinstance(subscriber, RawSubscriber)
        return subscriber
    return PolledSubscriber(client.pubsub(), heard.message, heard.subscribed)


def clients_named(client: redis.Redis, name: str) -> list[dict[str, Any]]:
    return [c for c in client.client_list() if c.get("name") == name]


@pytest.mark.parametrize("kind", ["raw", "polled"])
def test_messages_come_in_order_and_only_for_the_channels_subscribed(
    kind: str, redis_conn: redis.Redis, redis_prefix: str
) -> None:
    one, two = f"{redis_prefix}:one", f"{redis_prefix}:two"

    async def body() -> None:
        heard, stop = Heard(), asyncio.Event()
        subscriber = await opened(kind, heard, f"{redis_prefix}:test")
        await subscriber.subscribe({one, two})
        reading = asyncio.create_task(subscriber.wait(stop))  # redis-py's PubSub reads only in here
        await heard.until(lambda: len(heard.confirmed) == 2)
        assert sorted(heard.confirmed) == [one.encode(), two.encode()]
        for data in ("a", "b", "c"):
            redis_conn.publish(one, data)
        redis_conn.publish(two, "d")
        await heard.until(lambda: len(heard.messages) == 4)
        assert heard.messages == [
            (one.encode(), b"a"),
            (one.encode(), b"b"),
            (one.encode(), b"c"),
            (two.encode(), b"d"),
        ]
        await subscriber.unsubscribe({two})
        async with asyncio.timeout(GUARD_S):
            while redis_conn.pubsub_numsub(two)[0][1]:
                await asyncio.sleep(0.01)
        redis_conn.publish(two, "not heard")
        redis_conn.publish(one, "e")
        await heard.until(lambda: len(heard.messages) == 5)
        assert heard.messages[-1] == (one.encode(), b"e")
        stop.set()
        await asyncio.wait_for(reading, GUARD_S)
        await subscriber.aclose()

    run(body)


def test_the_raw_subscriber_runs_on_uvloop_too(redis_conn: redis.Redis, redis_prefix: str) -> None:
    """uvloop's transports are not asyncio.Transport subclasses; the connection takes them all the same."""
    uvloop = pytest.importorskip("uvloop")
    channel = f"{redis_prefix}:uvloop"

    async def body() -> None:
        heard, stop = Heard(), asyncio.Event()
        subscriber = await opened("raw", heard, f"{redis_prefix}:test")
        await subscriber.subscribe({channel})
        reading = asyncio.create_task(subscriber.wait(stop))
        await heard.until(lambda: heard.confirmed == [channel.encode()])
        redis_conn.publish(channel, "on uvloop")
        await heard.until(lambda: bool(heard.messages))
        assert heard.messages == [(channel.encode(), b"on uvloop")]
        stop.set()
        await asyncio.wait_for(reading, GUARD_S)
        await subscriber.aclose()

    uvloop.run(body())


@pytest.fixture
def acl_user(redis_conn: redis.Redis, redis_prefix: str) -> Iterator[tuple[str, str]]:
    name, password = f"{redis_prefix}-user", "a-password"
    redis_conn.acl_setuser(name, enabled=True, passwords=[f"+{password}"], commands=["+@all"], channels=["*"])
    yield name, password
    redis_conn.acl_deluser(name)


def test_it_logs_in_as_the_url_says_and_a_wrong_password_is_refused(
    acl_user: tuple[str, str], redis_conn: redis.Redis, redis_prefix: str
) -> None:
    user, password = acl_user
    url = settings.REDIS_URL.replace("redis://", f"redis://{user}:{password}@", 1)
    channel = f"{redis_prefix}:logged-in"

    async def body() -> None:
        heard = Heard()
        client = aioredis.Redis.from_url(url)
        subscriber = await open_subscriber(client, heard.message, heard.subscribed, f"{redis_prefix}:auth")
        await subscriber.subscribe({channel})
        await heard.until(lambda: bool(heard.confirmed))
        assert [c["user"] for c in clients_named(redis_conn, f"{redis_prefix}:auth")] == [user]
        await subscriber.aclose()
        wrong = aioredis.Redis.from_url(settings.REDIS_URL.replace("redis://", f"redis://{user}:wrong@", 1))
        with pytest.raises(redis.AuthenticationError):
            await open_subscriber(wrong, heard.message, heard.subscribed, f"{redis_prefix}:auth")

    run(body)


def test_a_killed_connection_ends_the_wait_with_a_connection_error(
    redis_conn: redis.Redis, redis_prefix: str
) -> None:
    name = f"{redis_prefix}:killed"

    async def body() -> None:
        heard = Heard()
        subscriber = await opened("raw", heard, name)
        await subscriber.subscribe({f"{redis_prefix}:any"})
        await heard.until(lambda: bool(heard.confirmed))
        reading = asyncio.create_task(subscriber.wait(asyncio.Event()))
        [connection] = clients_named(redis_conn, name)
        redis_conn.client_kill_filter(_id=connection["id"])
        with pytest.raises(redis.ConnectionError):
            await asyncio.wait_for(reading, GUARD_S)
        with pytest.raises(redis.ConnectionError):
            await subscriber.subscribe({f"{redis_prefix}:other"})

    run(body)


async def mute_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers the first command (CLIENT SETNAME), then reads and never answers."""
    await reader.read(1024)
    writer.write(b"+OK\r\n")
    while await reader.read(1024):
        pass


def test_a_reply_that_does_not_come_in_time_closes_the_connection() -> None:
    async def body() -> None:
        server = await asyncio.start_server(mute_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        connection = await RawConnection.open({"host": "127.0.0.1", "port": port}, "mute")
        with pytest.raises(redis.TimeoutError):
            await connection.call("XREAD", "BLOCK", 10, "STREAMS", "s", "0-0", timeout=0.05)
        # A late reply would have answered the next command: the connection is given up.
        assert connection.lost.done()
        with pytest.raises(redis.ConnectionError):
            await connection.call("PING")
        server.close()
        await server.wait_closed()

    run(body)


def test_a_connection_that_stops_answering_is_given_up_after_an_unanswered_ping() -> None:
    async def body() -> None:
        server = await asyncio.start_server(mute_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        heard = Heard()
        subscriber = await RawSubscriber.open(
            {"host": "127.0.0.1", "port": port}, heard.message, heard.subscribed, "mute", keepalive_s=0.05
        )
        # The first quiet interval sends a PING; the second, with no answer, gives up.
        with pytest.raises(redis.ConnectionError, match="PING"):
            await asyncio.wait_for(subscriber.wait(asyncio.Event()), GUARD_S)
        server.close()
        await server.wait_closed()

    run(body)
