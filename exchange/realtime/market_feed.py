"""One reader per matching shard: its events stream becomes trade, depth and ticker frames.

The reader XREADs (BLOCK, so pushed, not polled) from where it last was, so
it sees every entry in order. Each read batch becomes at most one frame per
channel: the trades of a market in the batch together, its depth updates
together. A depth update whose sequence does not follow the last one (the
stream was trimmed under a lagging reader, or Redis lost data) makes the
reader send every subscriber a fresh snapshot instead; a worker's restart
snapshot is passed on as a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings

from exchange.pipeline.depth_window import depth_checksum
from exchange.pipeline.keys import matching_keys
from exchange.pipeline.workers import depth_key
from exchange.realtime.frames import Frame, batch_frame, dumps
from exchange.realtime.raw_redis import RawConnection, raw_options
from spot.retry import next_backoff

if TYPE_CHECKING:
    from exchange.realtime.hub import Hub

logger = logging.getLogger(__name__)

# How long past its BLOCK a read's reply may take before the connection is given up.
_REPLY_GRACE_S = 5.0

EMPTY_BOOK = '{{"symbol":{symbol},"seq":0,"bids":[],"asks":[],"checksum":' + f"{depth_checksum([], [])}}}}}"


def snapshot_frame(symbol: str, raw: str, seq: int, reason: str) -> Frame:
    """The whole book (the matching worker's top levels) at `seq`; the client replaces its own."""
    channel = dumps(f"depth:{symbol}")
    return Frame(
        f'{{"type":"depth_snapshot","channel":{channel},"reason":"{reason}","data":{raw}}}', (seq, 0), True
    )


class ShardReader:
    def __init__(self, hub: Hub, shard: int) -> None:
        self.hub = hub
        self.shard = shard
        self.keys = matching_keys(shard, hub.prefix)
        self.stream = self.keys.events
        self.position = "0-0"
        self.symbols: set[str] = set()
        self.depth_seq: dict[str, int] = {}
        self._resync: set[str] = set()
        self.task: asyncio.Task[None] | None = None
        self._raw_options = raw_options(hub.redis)
        self._connection: RawConnection | None = None

    async def start(self) -> None:
        """Begin after the newest entry: what a new subscriber needs comes from the snapshot keys."""
        newest: Any = await self.hub.redis.xrevrange(self.stream, count=1)
        self.position = newest[0][0].decode() if newest else "0-0"
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"ws-shard-{self.shard}")

    def listened(self) -> bool:
        registry = self.hub.registry
        return any(
            registry.listened(f"{kind}:{symbol}")
            for symbol in self.symbols
            for kind in ("trades", "depth", "ticker")
        )

    async def run(self) -> None:
        backoff = 0.0
        try:
            while True:
                try:
                    entries = await self._read()
                    backoff = 0.0
                    if entries:
                        self.position = entries[-1][0].decode()
                        self.dispatch(entries)
                    if self._resync:
                        await self.resync()
                except redis.RedisError as exc:
                    self._close_connection()
                    backoff = next_backoff(backoff)
                    logger.warning("ws shard %s reader: %s; retrying in %.1fs", self.shard, exc, backoff)
                    await asyncio.sleep(backoff)
                    continue
                # Decided with no await before the hub forgets us, so a new subscriber either
                # finds this reader still registered (and is seen here) or starts a new one.
                if not entries and not self.listened():
                    self.hub.reader_done(self)
                    return
        finally:
            self._close_connection()

    async def _read(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """The next entries after the position (none after WS_READ_BLOCK_MS without any).

        On a single Redis, XREAD BLOCK on a connection of the reader's own,
        read by a protocol (exchange/realtime/raw_redis.py: about half the
        event loop's CPU of redis-py's for an entry that comes alone); on a
        cluster or over TLS, through redis-py.
        """
        count, block_ms = settings.WS_READ_COUNT, settings.WS_READ_BLOCK_MS
        if self._raw_options is None:
            response: Any = await self.hub.redis.xread(
                {self.stream: self.position}, count=count, block=block_ms
            )
            return response[0][1] if response else []
        if self._connection is None:
            self._connection = await RawConnection.open(
                self._raw_options, f"{self.hub.prefix}:ws-shard-{self.shard}"
            )
        response = await self._connection.call(
            "XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", self.stream, self.position,
            timeout=block_ms / 1000 + _REPLY_GRACE_S,
        )  # fmt: skip
        if not response:
            return []
        return [
            (entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in response[0][1]
        ]

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def dispatch(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        registry = self.hub.registry
        trades: dict[str, list[str]] = {}
        updates: dict[str, list[str]] = {}
        last_update: dict[str, int] = {}
        for entry_id, fields in entries:
            # A worker batch's events, one per field in order ("0", "1", ...; "d" before).
            for value in fields.values():
                try:
                    raw = value.decode()
                    event = json.loads(raw)
                    kind, symbol = event["type"], event["symbol"]
                except (KeyError, TypeError, ValueError):
                    logger.warning("ws shard %s: unreadable event in %s skipped", self.shard, entry_id)
                    continue
                self._dispatch_event(kind, symbol, event, raw, trades, updates, last_update)
        for symbol, raws in trades.items():
            channel = f"trades:{symbol}"
            registry.publish(channel, batch_frame("trade", channel, raws))
        for symbol in list(updates):
            self._flush(symbol, updates, last_update)

    def _dispatch_event(
        self,
        kind: str,
        symbol: str,
        event: dict[str, Any],
        raw: str,
        trades: dict[str, list[str]],
        updates: dict[str, list[str]],
        last_update: dict[str, int],
    ) -> None:
        registry = self.hub.registry
        if kind == "trade":
            self.hub.tickers.on_trade(symbol, event)
            if registry.listened(f"trades:{symbol}"):
                trades.setdefault(symbol, []).append(raw)
        elif kind == "depth_update":
            seq = event["seq"]
            last = self.depth_seq.get(symbol)
            if last is not None and seq <= last:
                return  # already covered by a snapshot this reader sent
            self.depth_seq[symbol] = seq
            if last is not None and seq != last + 1:
                logger.warning("ws: depth of %s jumped from %s to %s; resyncing", symbol, last, seq)
                self._resync.add(symbol)
            if symbol not in self._resync and registry.listened(f"depth:{symbol}"):
                updates.setdefault(symbol, []).append(raw)
                last_update[symbol] = seq
        elif kind == "depth_snapshot":
            # A (re)started worker: everything before it is void.
            self._flush(symbol, updates, last_update)
            self.depth_seq[symbol] = event["seq"]
            self._resync.discard(symbol)
            registry.publish(f"depth:{symbol}", snapshot_frame(symbol, raw, event["seq"], "restart"))

    def _flush(self, symbol: str, updates: dict[str, list[str]], last_update: dict[str, int]) -> None:
        raws = updates.pop(symbol, None)
        if raws:
            channel = f"depth:{symbol}"
            self.hub.registry.publish(
                channel, batch_frame("depth_update", channel, raws, (last_update[symbol], 0))
            )

    async def snapshot(self, symbol: str) -> tuple[str, int]:
        """The matching worker's book of `symbol` and its sequence (0 before any worker ran)."""
        raw: Any = await self.hub.redis.get(depth_key(self.keys, symbol))
        if not raw:
            return EMPTY_BOOK.format(symbol=dumps(symbol)), 0
        text = raw.decode()
        return text, int(json.loads(text)["seq"])

    async def resync(self) -> None:
        for symbol in sorted(self._resync):
            raw, seq = await self.snapshot(symbol)
            self._resync.discard(symbol)
            # Updates up to `seq` still ahead in the stream are in the snapshot already; and a
            # sequence above the worker's own (a stray entry) must not hide its next updates.
            self.depth_seq[symbol] = seq
            self.hub.registry.publish(f"depth:{symbol}", snapshot_frame(symbol, raw, seq, "gap"))
