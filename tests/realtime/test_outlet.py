"""The bounded queue in front of each connection, on the ASGI send path."""

from __future__ import annotations

import asyncio
from typing import Any

from exchange.realtime.frames import Frame
from exchange.realtime.outlet import SLOW_CONSUMER_CLOSE_CODE, AsgiOutlet, Outlet


def test_a_client_that_stops_reading_is_closed_with_a_reason_once_its_budget_is_spent() -> None:
    sent: list[dict[str, Any]] = []
    overflowed: list[Outlet] = []

    async def body() -> None:
        reading = asyncio.Event()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send" and not reading.is_set():
                await reading.wait()  # the client's socket is full
            sent.append(message)

        outlet = AsgiOutlet(send, budget=1000, on_overflow=overflowed.append)
        frame = Frame("x" * 100)
        outlet.offer(frame)
        await asyncio.sleep(0)  # the first frame is in the blocked send, ten more fill the budget
        for _ in range(10):
            outlet.offer(frame)
        assert not overflowed and outlet.queued == 1000
        outlet.offer(frame)
        await asyncio.sleep(0)
        assert overflowed == [outlet] and outlet.closed and not outlet.queue
        outlet.offer(frame)  # later frames are dropped, not queued
        assert not outlet.queue
        reading.set()
        await outlet.slow_consumer_close()

    asyncio.run(body())
    error, close = sent[-2], sent[-1]
    assert '"code":"SLOW_CONSUMER"' in error["text"]
    assert close == {"type": "websocket.close", "code": SLOW_CONSUMER_CLOSE_CODE, "reason": "slow consumer"}


def test_frames_keep_their_order_and_the_budget_is_given_back_as_they_are_sent() -> None:
    sent: list[str] = []

    async def body() -> None:
        async def send(message: dict[str, Any]) -> None:
            sent.append(message["text"])

        outlet = AsgiOutlet(send, budget=50, on_overflow=lambda outlet: None)
        for round_ in range(5):
            for n in range(4):
                outlet.offer(Frame(f"{round_}-{n}-" + "y" * 5))
            await asyncio.sleep(0.01)
            assert outlet.queued == 0
        outlet.shutdown()

    asyncio.run(body())
    assert [text.split("-y")[0] for text in sent] == [f"{r}-{n}" for r in range(5) for n in range(4)]


def test_a_frame_is_framed_once_for_the_wire() -> None:
    small, medium, large = Frame("a" * 10), Frame("b" * 300), Frame("c" * 70_000)
    assert small.wire == b"\x81\x0a" + b"a" * 10
    assert medium.wire[:4] == b"\x81\x7e\x01\x2c" and len(medium.wire) == 304
    assert large.wire[:2] == b"\x81\x7f" and int.from_bytes(large.wire[2:10], "big") == 70_000
    assert small.wire is small.wire
