"""The fan-out of one process: who listens to what, and the readers that feed them.

One Hub per event loop (daphne runs one loop per process). It starts a
reader for a matching shard when a market on it gets its first listener and
lets it end after its last one leaves; the same for each user's private feed.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass

import redis
from django.conf import settings

from exchange.realtime.frames import control
from exchange.realtime.market_feed import ShardReader, snapshot_frame
from exchange.realtime.outlet import Outlet
from exchange.realtime.protocol import PRIVATE, Channel, ProtocolError
from exchange.realtime.subscriber import OnMessage, OnSubscribed, Subscriber, open_subscriber
from exchange.realtime.subscriptions import Registry
from exchange.realtime.ticker import TickerBoard
from exchange.realtime.user_feed import UserFeed, user_channel
from spot.redis_connection import connect_async


@dataclass(frozen=True)
class MarketRef:
    symbol: str
    market_id: int
    shard: int


class MarketCache:
    """Symbol -> market and shard, for a few seconds: a thousand subscribers need not ask the database."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, MarketRef | None]] = {}

    def get(self, symbol: str) -> tuple[bool, MarketRef | None]:
        hit = self._entries.get(symbol)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, symbol: str, market: MarketRef | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[symbol] = (time.monotonic() + self.ttl_s, market)


class Hub:
    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()

    @classmethod
    def current(cls) -> Hub:
        loop = asyncio.get_running_loop()
        hub = cls._by_loop.get(loop)
        if hub is None:
            hub = cls._by_loop[loop] = cls()
        return hub

    def __init__(self) -> None:
        self.prefix = settings.REDIS_KEY_PREFIX
        block_s = settings.WS_READ_BLOCK_MS / 1000
        self.redis = connect_async(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=block_s + 5, health_check_interval=30
        )
        self.registry = Registry()
        self.readers: dict[int, ShardReader] = {}
        self._starting: dict[int, asyncio.Future[ShardReader]] = {}
        self.users = UserFeed(self)
        self.tickers = TickerBoard(self)
        self.markets = MarketCache(settings.WS_MARKET_CACHE_MS / 1000)

    # ------------------------------------------------------------ subscribing

    async def subscribe_market(
        self, outlet: Outlet, channel: Channel, market: MarketRef, request_id: int | str | None
    ) -> None:
        try:
            reader = await self._reader(market.shard)
        except redis.RedisError as exc:
            raise ProtocolError(
                "UNAVAILABLE", "market data is briefly unavailable; retry", request_id
            ) from exc
        reader.symbols.add(market.symbol)
        if channel.kind == "ticker":
            await self.tickers.subscribe(outlet, market.symbol, market.market_id, request_id)
            return
        subscription = self.registry.add(outlet, channel.name)
        subscription.send_now(control("subscribed", request_id, channel=channel.name))
        if channel.kind == "depth":
            try:
                raw, seq = await reader.snapshot(market.symbol)
            except redis.RedisError as exc:
                self.registry.remove(outlet, channel.name)
                raise ProtocolError(
                    "UNAVAILABLE", "the book is briefly unavailable; retry", request_id
                ) from exc
            if not self.registry.is_current(subscription):
                return
            subscription.send_now(snapshot_frame(market.symbol, raw, seq, "subscribe"))
        subscription.activate()

    async def subscribe_private(
        self, outlet: Outlet, user_id: int, since: int | None, request_id: int | str | None
    ) -> None:
        await self.users.subscribe(outlet, user_id, since, request_id)

    def unsubscribe(self, outlet: Outlet, channel: Channel, user_id: int | None) -> bool:
        if channel.kind == PRIVATE:
            if user_id is None:
                return False
            removed = self.registry.remove(outlet, user_channel(user_id))
            self.users.forget_unlistened(user_id)
            return removed
        return self.registry.remove(outlet, channel.name)

    def drop(self, outlet: Outlet) -> None:
        """A connection is gone: readers and feeds nobody listens to any more end by themselves."""
        for name in self.registry.drop(outlet):
            if name.startswith("user:"):
                self.users.forget_unlistened(int(name.partition(":")[2]))

    async def subscriber(self, on_message: OnMessage, on_subscribed: OnSubscribed) -> Subscriber:
        """A pub/sub connection that hands each message to `on_message` (exchange/realtime/subscriber.py)."""
        return await open_subscriber(self.redis, on_message, on_subscribed, f"{self.prefix}:ws-wakeups")

    # ---------------------------------------------------------------- readers

    async def _reader(self, shard: int) -> ShardReader:
        reader = self.readers.get(shard)
        if reader is not None:
            return reader
        starting = self._starting.get(shard)
        if starting is None:
            starting = self._starting[shard] = asyncio.get_running_loop().create_future()
            reader = ShardReader(self, shard)
            try:
                await reader.start()
            except redis.RedisError as exc:
                starting.set_exception(exc)
                starting.exception()  # retrieved: those waiting get it raised
                raise
            finally:
                del self._starting[shard]
            self.readers[shard] = reader
            starting.set_result(reader)
            return reader
        return await asyncio.shield(starting)

    def reader_done(self, reader: ShardReader) -> None:
        if self.readers.get(reader.shard) is reader:
            del self.readers[reader.shard]

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """Stop every reader and close the Redis connections (tests; daphne keeps its hub)."""
        tasks = [reader.task for reader in self.readers.values() if reader.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.readers.clear()
        await self.users.close()
        await self.tickers.close()
        await self.redis.aclose()
        loop = asyncio.get_running_loop()
        if Hub._by_loop.get(loop) is self:
            del Hub._by_loop[loop]
