"""A connection's way out: a bounded queue between the fan-out and the socket.

The fan-out never waits for a client. It offers each frame to every
subscriber's outlet, which writes it at once while the socket keeps up and
queues it otherwise. A client whose queue would pass WS_SEND_BUFFER_BYTES is
disconnected with the reason (SLOW_CONSUMER), so it can never hold up the
others nor grow the server's memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from exchange.realtime.frames import Frame, control

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
SLOW_CONSUMER_CLOSE_CODE = 4008


class Outlet:
    """The queue and its budget; subclasses say how frames reach the socket."""

    def __init__(self, budget: int, on_overflow: Callable[[Outlet], None]) -> None:
        self.budget = budget
        self.on_overflow = on_overflow
        self.queue: deque[Frame] = deque()
        self.queued = 0
        self.closed = False

    def offer(self, frame: Frame) -> None:
        raise NotImplementedError

    def offer_many(self, frames: list[Frame]) -> None:
        """Frames that came together, in order; an outlet that can writes them at once."""
        for frame in frames:
            self.offer(frame)

    async def close(self, code: int = 1000, frame: Frame | None = None, reason: str = "") -> None:
        """Send a last frame, if any, and close the connection."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """The connection is gone: drop what is queued and stop."""
        self.closed = True
        self.queue.clear()
        self.queued = 0

    def _enqueue(self, frame: Frame) -> bool:
        if self.queued + frame.cost > self.budget:
            self._overflow()
            return False
        self.queue.append(frame)
        self.queued += frame.cost
        return True

    def _overflow(self) -> None:
        behind = len(self.queue)
        self.shutdown()
        logger.info("disconnecting a slow WebSocket client (%s frames behind)", behind)
        # Later, not now: the fan-out may be iterating over this outlet's channel.
        asyncio.get_running_loop().call_soon(self.on_overflow, self)

    async def slow_consumer_close(self) -> None:
        frame = control(
            "error",
            code="SLOW_CONSUMER",
            message=f"more than {self.budget} bytes waited for this connection; reconnect and resync",
        )
        await self.close(SLOW_CONSUMER_CLOSE_CODE, frame, "slow consumer")


class AsgiOutlet(Outlet):
    """Frames go through the ASGI send callable, one task per connection (any ASGI server, and tests).

    `paused`, when given, tells that the server's own write buffer is full
    (daphne's transport does not push back through send); the task then
    waits and the queue, not the server, takes the backlog.
    """

    def __init__(
        self,
        send: Send,
        budget: int,
        on_overflow: Callable[[Outlet], None],
        paused: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(budget, on_overflow)
        self.send = send
        self.paused = paused
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    def offer(self, frame: Frame) -> None:
        if not self.closed and self._enqueue(frame):
            self._wakeup.set()

    async def _pump(self) -> None:
        while not self.closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.queue and not self.closed:
                frame = self.queue.popleft()
                self.queued -= frame.cost
                await self.send({"type": "websocket.send", "text": frame.text})
                if self.paused is not None:
                    await self.paused()

    async def close(self, code: int = 1000, frame: Frame | None = None, reason: str = "") -> None:
        self.shutdown()
        if frame is not None:
            await self.send({"type": "websocket.send", "text": frame.text})
        await self.send({"type": "websocket.close", "code": code, "reason": reason})

    def shutdown(self) -> None:
        super().shutdown()
        self._task.cancel()
