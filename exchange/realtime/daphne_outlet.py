"""Under daphne: frames written straight to the connection's socket, with its real backpressure.

daphne's ASGI send never pushes back: every message lands in Twisted's
unbounded write buffer. So here the outlet registers itself as the
transport's push producer (Twisted pauses it when the socket's buffer
passes 64 KiB and resumes it once drained) and writes the frame's prebuilt
WebSocket bytes itself: no task switch, no encoding and no framing per
subscriber. Only plain frames are written this way; a connection that
negotiated compression, or any other server, uses the ASGI send path.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from exchange.realtime.frames import Frame, control
from exchange.realtime.outlet import Outlet, Send

logger = logging.getLogger(__name__)

CLOSE_GRACE_S = 10
FRAME_TOO_LARGE_CLOSE_CODE = 1009  # RFC 6455: "message too big"


def daphne_protocol(send: Send) -> Any | None:
    """The daphne WebSocket protocol behind an ASGI send callable, when there is one."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency
        return None
    # daphne hands each application `partial(server.handle_reply, protocol)`.
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    if not isinstance(protocol, WebSocketProtocol) or protocol.transport is None:
        return None
    if getattr(protocol, "_perMessageCompress", None) is not None:
        return None
    return protocol


def close_oversized_frames(send: Send) -> bool:
    """Answer a client frame past daphne's size limit with a reason, not a dropped connection.

    autobahn (under daphne) refuses a frame or message over
    `--websocket-max-frame-size`/`--websocket-max-message-size` (1 MiB) as
    soon as its header arrives, by dropping the TCP connection: the client
    sees 1006 and no reason. Here the connection gets an error frame
    FRAME_TOO_LARGE and a close 1009 with the same reason; the rest of the
    frame's payload is read and thrown away while the client answers the
    close. False when the connection is not daphne's.
    """
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency
        return False
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    if not isinstance(protocol, WebSocketProtocol):
        return False

    def exceeded(size: int, limit: int, reason: str) -> None:
        # What autobahn's own hook does first: nothing more of this frame is kept or delivered.
        protocol.failedByMe = True
        if protocol.state != protocol.STATE_OPEN:
            protocol.dropConnection(abort=True)
            return
        error = control(
            "error", code="FRAME_TOO_LARGE", message=f"a client frame may be at most {limit} bytes"
        )
        protocol.sendMessage(error.text.encode())
        # The client may still be sending the frame's payload; give it time to read the close.
        protocol.closeHandshakeTimeout = CLOSE_GRACE_S
        # sendClose takes only 1000 and 3000-4999; 1009 is the standard code for this.
        protocol.sendCloseFrame(code=FRAME_TOO_LARGE_CLOSE_CODE, reasonUtf8=b"FRAME_TOO_LARGE")

    # An instance attribute: autobahn calls self._max_message_size_exceeded (autobahn 26).
    protocol._max_message_size_exceeded = exceeded
    return True


def _plain_tcp_socket(transport: Any) -> Any | None:
    """The socket under a plain TCP transport (not TLS, not a wrapper), for sending directly."""
    from twisted.internet.tcp import Connection

    if isinstance(transport, Connection) and hasattr(transport, "dataBuffer"):
        return transport.socket
    return None


class TransportWatch:
    """A Twisted push producer that only records whether the transport wants a pause."""

    def __init__(self, on_resume: Callable[[], None]) -> None:
        self.paused = False
        self.on_resume = on_resume

    @classmethod
    def attach(cls, protocol: Any, on_resume: Callable[[], None]) -> TransportWatch | None:
        """Register with the connection's transport; None when that is not possible."""
        watch = cls(on_resume)
        transport = protocol.transport
        # After the upgrade, daphne leaves twisted.web's HTTPChannel registered as the
        # transport's producer; it passes pause and resume on to a producer of its own.
        existing = getattr(transport, "producer", None)
        consumer = transport if existing is None else existing
        try:
            consumer.registerProducer(watch, True)
        except (AttributeError, RuntimeError) as exc:
            logger.warning("no backpressure for a WebSocket connection (%s); using ASGI send", exc)
            return None
        return watch

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self.on_resume()

    def stopProducing(self) -> None:
        self.paused = True


def backpressure(protocol: Any) -> Callable[[], Awaitable[None]] | None:
    """For the ASGI send path under daphne: an awaitable that returns once the socket has drained."""
    drained = asyncio.Event()
    watch = TransportWatch.attach(protocol, drained.set)
    if watch is None:
        return None

    async def wait() -> None:
        while watch.paused and protocol.state == protocol.STATE_OPEN:
            drained.clear()
            await drained.wait()

    return wait


class DirectOutlet(Outlet):
    def __init__(
        self, protocol: Any, watch: TransportWatch, budget: int, on_overflow: Callable[[Outlet], None]
    ) -> None:
        super().__init__(budget, on_overflow)
        self.protocol = protocol
        self.transport = protocol.transport
        self.watch = watch
        watch.on_resume = self._drain
        self._socket = _plain_tcp_socket(self.transport)

    @classmethod
    def open(cls, protocol: Any, budget: int, on_overflow: Callable[[Outlet], None]) -> DirectOutlet | None:
        watch = TransportWatch.attach(protocol, lambda: None)
        return None if watch is None else cls(protocol, watch, budget, on_overflow)

    def offer(self, frame: Frame) -> None:
        if self.closed:
            return
        if self.queue or self.watch.paused:
            self._enqueue(frame)
        elif self.protocol.state == self.protocol.STATE_OPEN:
            self._write(frame.wire)
        else:  # closing: nothing more may follow the close frame
            self.shutdown()

    def offer_many(self, frames: list[Frame]) -> None:
        """One send for all of them while the socket keeps up: a send costs the same for one or many.

        On this VM a send to a local socket cost ~8 us however little it carried,
        and each order gave each of its traders several events at once
        (docs/BENCHMARKS.md, *Sends*).
        """
        if self.closed or self.queue or self.watch.paused or len(frames) == 1:
            super().offer_many(frames)  # queued one by one, against the budget
        elif self.protocol.state == self.protocol.STATE_OPEN:
            self._write(b"".join([frame.wire for frame in frames]))
        else:  # closing: nothing more may follow the close frame
            self.shutdown()

    def _drain(self) -> None:
        while self.queue and not self.watch.paused and not self.closed:
            frame = self.queue.popleft()
            self.queued -= frame.cost
            self._write(frame.wire)

    def _write(self, wire: bytes) -> None:
        """Send now when nothing waits in Twisted's buffer; else, and for what is left, buffer.

        Twisted writes only once its loop finds the socket writable: an epoll
        registration, a wake-up, a callback and a deregistration per message
        and connection, which profiling showed to be most of the fan-out's
        cost. A socket that keeps up takes the whole frame at once here.
        """
        transport = self.transport
        if (
            self._socket is not None
            and not transport._tempDataLen
            and len(transport.dataBuffer) == transport.offset
            and not transport.disconnecting
        ):
            try:
                sent = self._socket.send(wire)
            except OSError:  # full (EAGAIN) or broken: Twisted's own write finds out which
                sent = 0
            if sent == len(wire):
                return
            wire = wire[sent:]
        transport.write(wire)

    async def close(self, code: int = 1000, frame: Frame | None = None, reason: str = "") -> None:
        self.shutdown()
        if self.protocol.state != self.protocol.STATE_OPEN:
            return
        if frame is not None:
            self.transport.write(frame.wire)
        # autobahn drops the TCP connection when the client does not answer the close in
        # time (1 s by default); a slow reader gets longer to reach the reason behind its backlog.
        self.protocol.closeHandshakeTimeout = CLOSE_GRACE_S
        self.protocol.sendClose(code=code, reason=reason or None)
