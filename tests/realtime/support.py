"""Helpers of the WebSocket tests: what the workers publish, signed credentials, a local book."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import redis
from asgiref.sync import async_to_sync
from django.conf import settings

from exchange.api.signing import private_key_from_text, signed_headers
from exchange.pipeline.cluster_wire import wire_for
from exchange.pipeline.keys import matching_keys
from exchange.pipeline.user_events import append_commands, events_stream
from exchange.pipeline.workers import depth_key
from exchange.realtime.auth import SIGNED_PATH
from exchange.realtime.hub import Hub
from exchange.routing import SymbolRouter
from exchange.services.api_keys import IssuedKey


def run(body: Callable[[], Awaitable[None]]) -> None:
    """Run an async test body on its own loop, with the thread-sensitive DB calls on this thread."""

    async def main() -> None:
        try:
            await body()
        finally:
            hub = Hub._by_loop.get(asyncio.get_running_loop())
            if hub is not None:
                await hub.close()

    async_to_sync(main)()


def credentials(key: IssuedKey, timestamp_ms: int | None = None) -> dict[str, str]:
    """The three signed values of a WebSocket login."""
    assert key.private_key is not None
    headers = signed_headers(
        key.api_key.key_id, private_key_from_text(key.private_key), "GET", SIGNED_PATH, b"", timestamp_ms
    )
    return {
        "key": headers["X-Spot-Key"],
        "timestamp": headers["X-Spot-Timestamp"],
        "signature": headers["X-Spot-Signature"],
    }


def auth_frame(key: IssuedKey) -> dict[str, Any]:
    return {"op": "auth", **credentials(key)}


def auth_headers(key: IssuedKey, timestamp_ms: int | None = None) -> list[tuple[bytes, bytes]]:
    """Login headers; connections opened in the same millisecond need distinct timestamps (single use)."""
    values = credentials(key, timestamp_ms)
    return [
        (b"x-spot-key", values["key"].encode()),
        (b"x-spot-timestamp", values["timestamp"].encode()),
        (b"x-spot-signature", values["signature"].encode()),
    ]


class EventSource:
    """Writes events as the workers do (exchange.pipeline.worker / workers), straight into Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self.prefix = settings.REDIS_KEY_PREFIX

    def shard_keys(self, symbol: str) -> Any:
        return matching_keys(SymbolRouter.from_settings().shard_for(symbol), self.prefix)

    def market_event(self, event: dict[str, Any]) -> str:
        return self.market_batch([event])

    def market_batch(self, events: list[dict[str, Any]]) -> str:
        """A matching worker batch's events: one entry, one event per field "0", "1", ..."""
        fields = {str(n): json.dumps(event, separators=(",", ":")) for n, event in enumerate(events)}
        entry: Any = self.redis.xadd(self.shard_keys(events[0]["symbol"]).events, fields)  # type: ignore[arg-type]
        return str(entry.decode())

    def trade(self, symbol: str, trade_id: int, price: str = "100", quantity: str = "1", **extra: Any) -> str:
        return self.market_event(
            {
                "type": "trade",
                "symbol": symbol,
                "trade_id": str(trade_id),
                "price": price,
                "quantity": quantity,
                "taker_side": "BUY",
                "ts": int(time.time() * 1000),
                **extra,
            }
        )

    def book(self, symbol: str, seq: int, bids: list[list[str]], asks: list[list[str]]) -> None:
        """The snapshot key the matching worker keeps (seq of the last update folded in)."""
        snapshot = {"symbol": symbol, "seq": seq, "bids": bids, "asks": asks}
        self.redis.set(depth_key(self.shard_keys(symbol), symbol), json.dumps(snapshot))

    def depth_update(self, symbol: str, seq: int, bids: list[list[str]], asks: list[list[str]]) -> str:
        return self.market_event(
            {"type": "depth_update", "symbol": symbol, "seq": seq, "bids": bids, "asks": asks}
        )

    def depth_snapshot(self, symbol: str, seq: int, bids: list[list[str]], asks: list[list[str]]) -> str:
        self.book(symbol, seq, bids, asks)
        return self.market_event(
            {"type": "depth_snapshot", "symbol": symbol, "seq": seq, "bids": bids, "asks": asks}
        )

    def user_events(self, user_id: int, events: list[dict[str, Any]]) -> list[int]:
        """A worker batch's events of one user, appended the workers' way; their seqs."""
        bodies = [json.dumps(event, separators=(",", ":")).encode() for event in events]
        channel = f"{self.prefix}:user:{user_id}"
        [last] = wire_for(self.redis).round_trip(
            append_commands(channel, bodies, settings.USER_EVENTS_MAXLEN)
        )
        return list(range(int(last) - len(events) + 1, int(last) + 1))

    def user_event(self, user_id: int, event: dict[str, Any]) -> int:
        [seq] = self.user_events(user_id, [event])
        return seq

    def trim_user_events(self, user_id: int, keep: int) -> None:
        """Keep only the newest `keep` entries, as the stream's MAXLEN does to a long history."""
        self.redis.xtrim(events_stream(f"{self.prefix}:user:{user_id}"), maxlen=keep, approximate=False)

    def order(self, user_id: int, order_id: int, status: str = "NEW", **extra: Any) -> int:
        return self.user_event(
            user_id,
            {
                "type": "order",
                "order_id": str(order_id),
                "client_order_id": f"c-{order_id}",
                "symbol": "BTC/USDT",
                "side": "BUY",
                "status": status,
                "price": "100",
                "quantity": "1",
                "executed_quantity": "0",
                "executed_quote": "0",
                "reject_reason": "",
                **extra,
            },
        )


class LocalBook:
    """A client's copy of one market's book, kept from depth frames the way the protocol says."""

    def __init__(self) -> None:
        self.seq: int | None = None
        # price -> (price text, size text), as the frames wrote them: the checksum is over the texts.
        self.bid_texts: dict[Decimal, tuple[str, str]] = {}
        self.ask_texts: dict[Decimal, tuple[str, str]] = {}
        self.gaps = 0
        self.snapshots: list[str] = []
        self.checksums_verified = 0

    @property
    def bids(self) -> dict[Decimal, Decimal]:
        return {price: Decimal(size) for price, (_, size) in self.bid_texts.items()}

    @property
    def asks(self) -> dict[Decimal, Decimal]:
        return {price: Decimal(size) for price, (_, size) in self.ask_texts.items()}

    def apply(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "depth_snapshot":
            data = frame["data"]
            self.seq = data["seq"]
            self.bid_texts = {Decimal(p): (p, q) for p, q in data["bids"]}
            self.ask_texts = {Decimal(p): (p, q) for p, q in data["asks"]}
            self.snapshots.append(frame["reason"])
            self._verify(data)
            return
        assert frame["type"] == "depth_update", frame
        for update in frame["data"]:
            assert self.seq is not None, "an update before any snapshot"
            if update["seq"] <= self.seq:
                continue  # already in the snapshot
            if update["seq"] != self.seq + 1:
                self.gaps += 1  # a real client would resubscribe for a new snapshot
            self.seq = update["seq"]
            for side, levels in ((self.bid_texts, update["bids"]), (self.ask_texts, update["asks"])):
                for price, quantity in levels:
                    if Decimal(quantity) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = (price, quantity)
            self._verify(update)

    def checksum(self) -> int:
        """As docs/adr/0005 says: CRC32 of "p:q,...|p:q,...", bids best first, then asks best first."""
        bids = ",".join(f"{p}:{q}" for _, (p, q) in sorted(self.bid_texts.items(), reverse=True))
        asks = ",".join(f"{p}:{q}" for _, (p, q) in sorted(self.ask_texts.items()))
        return zlib.crc32(f"{bids}|{asks}".encode())

    def _verify(self, data: dict[str, Any]) -> None:
        if "checksum" in data:  # what the workers write always has one; hand-made events may not
            assert data["checksum"] == self.checksum(), f"checksum differs at seq {data['seq']}"
            self.checksums_verified += 1

    def levels(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


async def connect(headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    """A WebSocket to /ws/ of the ASGI application, connected."""
    from channels.testing import WebsocketCommunicator

    from spot.asgi import application

    ws = WebsocketCommunicator(application, "/ws/", headers=headers or [])
    connected, _ = await ws.connect()
    assert connected
    return ws


async def request(ws: Any, frame: dict[str, Any], timeout: float = 3) -> dict[str, Any]:
    """Send a client frame and return the first frame that comes back."""
    await ws.send_json_to(frame)
    reply: dict[str, Any] = await ws.receive_json_from(timeout=timeout)
    return reply


async def receive(ws: Any, timeout: float = 3) -> dict[str, Any]:
    frame: dict[str, Any] = await ws.receive_json_from(timeout=timeout)
    return frame
