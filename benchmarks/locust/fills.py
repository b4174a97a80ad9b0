"""How long a trader waits from sending an order over REST to seeing its fill on the private WebSocket.

The watcher logs in on `/ws/`, subscribes to `private` and notes when the
first fill of each order arrives. The user notes when it sent each order.
Whichever of the two comes second (a fill can arrive before the REST answer
that names the order's id) gives one sample: sent → first fill.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

# Orders without a fill (an IOC that found no liquidity) are forgotten after this long.
FORGET_AFTER_S = 30.0


class FillWatcher:
    def __init__(self, url: str, login: dict[str, str], report: Callable[[float], None]) -> None:
        self.url = url
        self.login = login
        self.report = report  # called with the latency in milliseconds
        # By the id's text: REST and the WebSocket both send ids as strings.
        self._sent: dict[str, float] = {}
        self._filled: dict[str, float] = {}
        self._lock = threading.Lock()
        self._connection: ClientConnection | None = None
        self._closed = False

    def open(self) -> None:
        """Connect, log in and subscribe; raises if the server refuses."""
        connection = connect(self.url, open_timeout=10, max_size=2**22)
        connection.send(json.dumps(self.login))
        _expect(connection, "authenticated")
        connection.send(json.dumps({"op": "subscribe", "channels": ["private"]}))
        _expect(connection, "subscribed")
        self._connection = connection

    def run(self) -> None:
        """Read the private channel until closed (locust runs this in a greenlet of its own)."""
        assert self._connection is not None
        try:
            for frame in self._connection:
                self.on_frame(json.loads(frame), time.perf_counter())
        except Exception:
            if not self._closed:
                raise

    def close(self) -> None:
        self._closed = True
        if self._connection is not None:
            self._connection.close()

    def on_frame(self, frame: dict[str, Any], now: float) -> None:
        if frame.get("type") != "fill":
            return
        raw_id = frame.get("data", {}).get("order_id")
        if not isinstance(raw_id, str | int):
            return
        order_id = str(raw_id)
        with self._lock:
            if order_id in self._filled:
                return  # only the first fill of an order counts
            sent = self._sent.pop(order_id, None)
            if sent is None:
                self._filled[order_id] = now
        if sent is not None:
            self.report((now - sent) * 1000)

    def sent(self, order_id: str | int, at: float) -> None:
        """The order `order_id` was sent at `at` (perf_counter), as the REST answer now says."""
        order_id = str(order_id)
        with self._lock:
            filled = self._filled.pop(order_id, None)
            if filled is None:
                self._sent[order_id] = at
            self._forget(at)
        if filled is not None:
            self.report((filled - at) * 1000)

    def _forget(self, now: float) -> None:
        for waiting in (self._sent, self._filled):
            stale = [order_id for order_id, at in waiting.items() if now - at > FORGET_AFTER_S]
            for order_id in stale:
                del waiting[order_id]


def _expect(connection: ClientConnection, kind: str) -> None:
    reply = json.loads(connection.recv(timeout=10))
    if reply.get("type") != kind:
        raise ConnectionError(f"expected {kind!r}, got {reply}")
