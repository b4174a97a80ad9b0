"""Under daphne: frames that come together for one connection leave in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from exchange.realtime.daphne_outlet import DirectOutlet
from exchange.realtime.frames import Frame
from exchange.realtime.outlet import Outlet
from exchange.realtime.subscriptions import Registry


class Transport:
    """What DirectOutlet uses of a Twisted transport (not a TCP one, so it writes through here)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.producer: Any = None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.registered = producer

    def write(self, data: bytes) -> None:
        self.writes.append(data)


class Protocol:
    STATE_OPEN = 1
    STATE_CLOSING = 2

    def __init__(self) -> None:
        self.state = self.STATE_OPEN
        self.transport = Transport()


def open_outlet(protocol: Protocol, budget: int = 10_000) -> DirectOutlet:
    outlet = DirectOutlet.open(protocol, budget=budget, on_overflow=lambda outlet: None)
    assert outlet is not None
    return outlet


def frames(*texts: str) -> list[Frame]:
    return [Frame(text) for text in texts]


def test_frames_that_come_together_go_in_one_write_in_order() -> None:
    protocol = Protocol()
    batch = frames("a", "b", "c")

    async def body() -> None:
        outlet = open_outlet(protocol)
        outlet.offer_many(batch)
        outlet.offer_many(frames("d"))

    asyncio.run(body())
    assert protocol.transport.writes == [b"".join(frame.wire for frame in batch), Frame("d").wire]


def test_while_the_socket_is_full_they_queue_one_by_one_against_the_budget() -> None:
    protocol = Protocol()
    overflowed: list[Outlet] = []

    async def body() -> None:
        outlet = DirectOutlet.open(protocol, budget=2, on_overflow=overflowed.append)
        assert outlet is not None
        outlet.watch.pauseProducing()  # Twisted's buffer is full
        outlet.offer_many(frames("a", "b"))
        assert [frame.text for frame in outlet.queue] == ["a", "b"]
        outlet.offer_many(frames("c", "d"))  # past the budget: the client is too slow
        assert outlet.closed
        await asyncio.sleep(0)

    asyncio.run(body())
    assert protocol.transport.writes == []
    assert len(overflowed) == 1


def test_nothing_is_written_to_a_closing_connection() -> None:
    protocol = Protocol()

    async def body() -> None:
        outlet = open_outlet(protocol)
        protocol.state = protocol.STATE_CLOSING
        outlet.offer_many(frames("a", "b"))
        assert outlet.closed

    asyncio.run(body())
    assert protocol.transport.writes == []


class Recording(Outlet):
    def __init__(self) -> None:
        super().__init__(budget=10_000, on_overflow=lambda outlet: None)
        self.batches: list[list[str]] = []

    def offer(self, frame: Frame) -> None:
        self.batches.append([frame.text])

    def offer_many(self, frames: list[Frame]) -> None:
        self.batches.append([frame.text for frame in frames])


def test_a_subscriber_gets_only_what_is_newer_than_it_has_in_one_batch() -> None:
    registry = Registry()
    live, starting = Recording(), Recording()
    registry.add(live, "private").activate()
    registry.add(starting, "private")  # its replay is being read: live frames wait
    positioned = [Frame(str(seq), position=(seq,)) for seq in (1, 2, 3)]

    registry.publish_many("private", positioned[:2])
    registry.publish_many("private", positioned)  # 1 and 2 again (a replay overlapping the feed)
    registry.publish_many("private", positioned[2:])  # one frame: the single path

    assert live.batches == [["1", "2"], ["3"]]
    assert starting.batches == []
    registry.channels["private"][starting].activate()
    assert starting.batches == [["1"], ["2"], ["3"]]  # the waiting frames, each newer once
