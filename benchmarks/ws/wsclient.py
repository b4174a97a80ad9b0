"""Many WebSocket subscribers in one process, with a deliberately minimal client.

A general-purpose client (the `websockets` package) spends more CPU per
message than the server does, and the benchmark machine has two cores for
server, publisher and clients together. So each subscriber here does the
least it must: the upgrade handshake, then, for a sample of subscribers,
reading every message (counting trades and reading the publish timestamps
the benchmark put in them), and for the others only counting the bytes that
arrive. Every subscriber of a channel is sent the very same messages, so
equal byte counts show that all of them got everything the sample got.

Run as a process of its own by the benchmarks:

    python -m benchmarks.ws.wsclient PORT CHANNEL SUBSCRIBERS SAMPLED

It prints "ready" once every subscriber is subscribed, counts until its
standard input closes, then prints one JSON line of results (latencies as a
histogram of 20 µs buckets).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import sys
import time
from typing import Any

STAMP = re.compile(rb'"bench_ns":(\d+)')
BUCKET_NS = 20_000  # latency histogram: 20 µs buckets up to 1 s
BUCKETS = 50_000


class Stats:
    def __init__(self) -> None:
        self.frames = 0
        self.events = 0
        self.closed = 0
        self.histogram = [0] * BUCKETS


class Subscriber(asyncio.Protocol):
    def __init__(self, stats: Stats, channel: str, sampled: bool, subscribed: asyncio.Future[None]) -> None:
        self.stats = stats
        self.channel = channel
        self.sampled = sampled
        self.subscribed = subscribed
        self.buffer = bytearray()
        self.upgraded = False
        self.received = 0  # bytes after the subscription's acknowledgement
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if self.subscribed.done():
            self.received += len(data)
            if not self.sampled:
                return
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            assert self.buffer.startswith(b"HTTP/1.1 101"), bytes(self.buffer[:80])
            del self.buffer[: end + 4]
            self.upgraded = True
            self.send(json.dumps({"op": "subscribe", "channels": [self.channel]}).encode())
        self.read_frames()

    def read_frames(self) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            size = buffer[1] & 0x7F
            offset = 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + size:
                return
            payload = bytes(buffer[offset : offset + size])
            del buffer[: offset + size]
            if not self.subscribed.done():
                if b'"subscribed"' in payload:
                    self.subscribed.set_result(None)
                    self.received = len(buffer)
                    if not self.sampled:
                        buffer.clear()
                        return
                continue
            self.frame(payload)

    def frame(self, payload: bytes) -> None:
        stats = self.stats
        stats.frames += 1
        stats.events += payload.count(b'"trade_id"')
        now = time.time_ns()
        histogram = stats.histogram
        for stamp in STAMP.findall(payload):
            histogram[min(BUCKETS - 1, max(0, now - int(stamp)) // BUCKET_NS)] += 1

    def send(self, payload: bytes) -> None:
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x81, 0x80 | len(payload))) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed += 1


def constant(subscriber: Subscriber) -> Any:
    return lambda: subscriber


async def main(port: int, channel: str, count: int, sampled: int) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    every = max(1, count // max(1, sampled))
    subscribers: list[Subscriber] = []
    for index in range(count):
        sample = sampled > 0 and (index + 1) % every == 0
        subscriber = Subscriber(stats, channel, sample, loop.create_future())
        await loop.create_connection(constant(subscriber), "127.0.0.1", port)
        subscribers.append(subscriber)
    await asyncio.wait_for(asyncio.gather(*(s.subscribed for s in subscribers)), timeout=60)
    print("ready", flush=True)
    started = time.perf_counter()
    await loop.run_in_executor(None, sys.stdin.read)  # the benchmark closes stdin to stop us
    received = [s.received for s in subscribers]
    result: dict[str, Any] = {
        "seconds": time.perf_counter() - started,
        "sampled": sum(1 for s in subscribers if s.sampled),
        "frames": stats.frames,
        "events": stats.events,
        "closed": stats.closed,
        "bytes_min": min(received),
        "bytes_max": max(received),
        "histogram": {str(i): n for i, n in enumerate(stats.histogram) if n},
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
