"""Daphne's two reads of Redis, CPU per message: redis-py against a RawConnection.

    python -m benchmarks.ws.wakeups [--messages 3000] [--gap-us 500] [--rounds 3]

(REDIS_URL, default redis://127.0.0.1:6379/0; a server, not a cluster.)

- pub/sub (the private feeds' wake-ups): a thread in this process PUBLISHes
  messages of 300 bytes, read by redis-py's PubSub polled as daphne read it
  until 2026-12-03, and by `RawSubscriber`;
- XREAD BLOCK (a shard reader's market events): a thread XADDs entries of
  one 200-byte field, read by redis-py's `xread` and by `RawConnection.call`.

Messages are sent with a gap between them, so each arrives alone, as the
workers' writes do below a few hundred orders a second; `--gap-us 0` sends
them back to back. The event loop's thread CPU from the first message to
the last is divided by the messages: what daphne pays to read one (its
handling apart). The readers alternate, each round on a fresh connection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
import uuid
from typing import Any

import redis
import redis.asyncio as aioredis

from exchange.realtime.raw_redis import RawConnection, raw_options
from exchange.realtime.subscriber import PolledSubscriber, RawSubscriber, Subscriber, open_subscriber

PAYLOAD = b"x" * 300


def publish(url: str, channel: str, count: int, gap_s: float, started: threading.Event) -> None:
    client = redis.Redis.from_url(url)
    started.wait()
    for _ in range(count):
        client.publish(channel, PAYLOAD)
        if gap_s:
            time.sleep(gap_s)
    client.close()


async def cpu_per_message(kind: str, url: str, count: int, gap_s: float) -> float:
    channel = f"bench-wakeups-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()
    confirmed: asyncio.Future[None] = loop.create_future()
    finished: asyncio.Future[None] = loop.create_future()
    heard = 0
    first_cpu = 0.0

    def on_message(_channel: bytes, _data: bytes) -> None:
        nonlocal heard, first_cpu
        heard += 1
        if heard == 1:
            first_cpu = time.thread_time()
        if heard == count and not finished.done():
            finished.set_result(None)

    def on_subscribed(_channel: bytes) -> None:
        if not confirmed.done():
            confirmed.set_result(None)

    client: Any = aioredis.Redis.from_url(url)
    subscriber: Subscriber
    if kind == "raw":
        subscriber = await open_subscriber(client, on_message, on_subscribed, "bench-wakeups")
        assert isinstance(subscriber, RawSubscriber)
    else:
        subscriber = PolledSubscriber(client.pubsub(), on_message, on_subscribed)
    await subscriber.subscribe({channel})
    stop = asyncio.Event()
    reading = asyncio.create_task(subscriber.wait(stop))
    await confirmed
    started = threading.Event()
    thread = threading.Thread(target=publish, args=(url, channel, count, gap_s, started), daemon=True)
    thread.start()
    started.set()
    await finished
    spent = time.thread_time() - first_cpu
    stop.set()
    await reading
    await subscriber.aclose()
    await client.aclose()
    thread.join()
    return spent / (count - 1) * 1e6


def append(url: str, stream: str, count: int, gap_s: float, started: threading.Event) -> None:
    client = redis.Redis.from_url(url)
    started.wait()
    for _ in range(count):
        client.xadd(stream, {"0": PAYLOAD[:200]})
        if gap_s:
            time.sleep(gap_s)
    client.close()


async def cpu_per_entry(kind: str, url: str, count: int, gap_s: float) -> float:
    stream = f"bench-wakeups-{uuid.uuid4().hex[:8]}"
    client: Any = aioredis.Redis.from_url(url, socket_timeout=10)
    connection: RawConnection | None = None
    if kind == "raw":
        options = raw_options(client)
        assert options is not None, "a RawConnection needs a single Redis over TCP or a Unix socket"
        connection = await RawConnection.open(options, "bench-wakeups")
    started = threading.Event()
    thread = threading.Thread(target=append, args=(url, stream, count, gap_s, started), daemon=True)
    thread.start()
    started.set()
    position, read, first_cpu = "0-0", 0, 0.0
    while read < count:
        if connection is None:
            response: Any = await client.xread({stream: position}, count=1000, block=1000)
        else:
            response = await connection.call(
                "XREAD", "COUNT", 1000, "BLOCK", 1000, "STREAMS", stream, position, timeout=6
            )
        if not response:
            continue
        entries = response[0][1]
        if connection is not None:  # as the shard reader does: the fields as a dict
            entries = [
                (entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in entries
            ]
        if not read:
            first_cpu = time.thread_time()
        read += len(entries)
        position = entries[-1][0].decode()
    spent = time.thread_time() - first_cpu
    thread.join()
    if connection is not None:
        connection.close()
    await client.delete(stream)
    await client.aclose()
    return spent / (count - 1) * 1e6


async def main(args: argparse.Namespace) -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    print(f"{'round':>5} {'read':>8} {'reader':>22} {'CPU us/message':>15}")
    for round_number in range(1, args.rounds + 1):
        for kind, label in (("polled", "redis-py PubSub"), ("raw", "RawSubscriber")):
            us = await cpu_per_message(kind, url, args.messages, args.gap_us / 1e6)
            print(f"{round_number:>5} {'pub/sub':>8} {label:>22} {us:>15.1f}")
        for kind, label in (("redis-py", "redis-py xread"), ("raw", "RawConnection")):
            us = await cpu_per_entry(kind, url, args.messages, args.gap_us / 1e6)
            print(f"{round_number:>5} {'XREAD':>8} {label:>22} {us:>15.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--gap-us", type=float, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
