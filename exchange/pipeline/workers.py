"""The two workers: accounts (one per user partition) and matching (one per symbol shard)."""

from __future__ import annotations

import json

import redis
from django.conf import settings

from exchange.pipeline.accounts_stage import AccountsStage
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.loading import fee_user_id, load_accounts_state, load_books
from exchange.pipeline.markets import MarketRules, load_markets
from exchange.pipeline.matching_stage import MatchingStage
from exchange.pipeline.worker import Stage, StageWorker
from exchange.routing import account_shard_for
from matching import from_lots, from_ticks
from persistence.offsets import CommittedPosition
from persistence.write_buffer import WriteBuffer


class AccountsWorker(StageWorker):
    def __init__(self, shard: int, client: redis.Redis, standby: bool = False) -> None:
        super().__init__(f"accounts-{shard}", accounts_keys(shard), client, standby)
        self.shard = shard

    def build_stage(self, position: CommittedPosition, buffer: WriteBuffer) -> Stage:
        markets = load_markets()
        shards = {rules.shard for rules in markets.values()}
        return AccountsStage(
            self.shard,
            markets,
            load_accounts_state(self.shard, settings.ACCOUNT_SHARDS),
            buffer,
            self.outbox,
            {shard: matching_keys(shard) for shard in shards},
            settings.REDIS_KEY_PREFIX,
            load_markets,
        )


class MatchingWorker(StageWorker):
    def __init__(self, shard: int, client: redis.Redis, standby: bool = False) -> None:
        super().__init__(f"matching-{shard}", matching_keys(shard), client, standby)
        self.shard = shard
        self._stage: MatchingStage | None = None
        self._depth_sequence: dict[str, int] = {}

    def _my_markets(self) -> dict[str, MarketRules]:
        return {symbol: rules for symbol, rules in load_markets().items() if rules.shard == self.shard}

    def build_stage(self, position: CommittedPosition, buffer: WriteBuffer) -> Stage:
        markets = self._my_markets()
        books, orders, top_sequence = load_books(markets)
        counters = position.counters
        counters["engine"] = max(counters.get("engine", 0), top_sequence)
        self._stage = MatchingStage(
            self.shard,
            markets,
            books,
            orders,
            buffer,
            self.outbox,
            lambda user_id: accounts_keys(account_shard_for(user_id)).stream,
            fee_user_id(),
            self.keys,
            settings.REDIS_KEY_PREFIX,
            self._my_markets,
        )
        for symbol in markets:
            self._publish_depth(symbol)
        return self._stage

    def after_batch(self) -> None:
        stage = self._stage
        if stage is None:
            return
        pipe = self.redis.pipeline(transaction=False)
        for event in stage.market_events:
            pipe.xadd(
                self.keys.events,
                {"d": json.dumps(event, separators=(",", ":"))},
                maxlen=settings.EVENTS_STREAM_MAXLEN,
                approximate=True,
            )
        stage.market_events.clear()
        for symbol in sorted(stage.touched_markets):
            self._queue_depth(pipe, symbol)
        stage.touched_markets.clear()
        pipe.execute()

    def _publish_depth(self, symbol: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        self._queue_depth(pipe, symbol)
        pipe.execute()

    def _queue_depth(self, pipe: redis.client.Pipeline, symbol: str) -> None:
        """The top of the book as the REST API and WebSocket snapshots read it."""
        assert self._stage is not None
        rules = self._stage.markets[symbol]
        bids, asks = self._stage.books[symbol].depth(settings.DEPTH_LEVELS)
        sequence = self._depth_sequence[symbol] = self._depth_sequence.get(symbol, 0) + 1

        def levels(side: list[tuple[int, int]]) -> list[list[str]]:
            return [
                [str(from_ticks(price, rules.tick_size)), str(from_lots(size, rules.lot_size))]
                for price, size in side
            ]

        snapshot = {"symbol": symbol, "seq": sequence, "bids": levels(bids), "asks": levels(asks)}
        body = json.dumps(snapshot, separators=(",", ":"))
        pipe.set(f"{self.keys.prefix}:{{{self.keys.tag}}}:depth:{symbol}", body)
        pipe.xadd(
            self.keys.events,
            {"d": json.dumps({"type": "depth", **snapshot}, separators=(",", ":"))},
            maxlen=settings.EVENTS_STREAM_MAXLEN,
            approximate=True,
        )
