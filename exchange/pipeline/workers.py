"""The two workers: accounts (one per user partition) and matching (one per symbol shard)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings

from exchange.pipeline import metrics
from exchange.pipeline.accounts_stage import AccountsStage
from exchange.pipeline.depth_window import DepthWindow, depth_checksum
from exchange.pipeline.expiry_clock import ExpiryClock
from exchange.pipeline.frozen import raise_frozen_flags
from exchange.pipeline.keys import ShardKeys, accounts_keys, matching_keys
from exchange.pipeline.loading import fee_user_id, load_accounts_state, load_books
from exchange.pipeline.markets import MarketRules, load_markets
from exchange.pipeline.matching_stage import MatchingStage
from exchange.pipeline.messages import dumps
from exchange.pipeline.outbox import feed_fields
from exchange.pipeline.trimming import TrimFloor, below_downstream
from exchange.pipeline.wire import Command
from exchange.pipeline.worker import Stage, StageWorker
from exchange.routing import account_shard_for
from matching import ENGINE_BUILD, from_lots, from_ticks
from persistence.offsets import CommittedPosition
from persistence.write_buffer import WriteBuffer

logger = logging.getLogger(__name__)


def depth_key(keys: ShardKeys, symbol: str) -> str:
    return f"{keys.prefix}:{{{keys.tag}}}:depth:{symbol}"


class AccountsWorker(StageWorker):
    def __init__(self, shard: int, client: redis.Redis, standby: bool = False) -> None:
        super().__init__(f"accounts-{shard}", accounts_keys(shard), client, standby)
        self.shard = shard

    def build_stage(self, position: CommittedPosition, buffer: WriteBuffer) -> Stage:
        raise_frozen_flags(self.redis, self.keys, self.shard, settings.ACCOUNT_SHARDS)
        markets = load_markets()
        shards = {rules.shard for rules in markets.values()}
        stage = AccountsStage(
            self.shard,
            markets,
            load_accounts_state(self.shard, settings.ACCOUNT_SHARDS, position.last_entry_id),
            buffer,
            self.outbox,
            {shard: matching_keys(shard) for shard in shards},
            settings.REDIS_KEY_PREFIX,
            load_markets,
        )
        metrics.ACTIVE_USERS.labels(worker=self.name).set_function(stage.active_users.count)
        return stage

    def trim_floor(self) -> TrimFloor:
        """Below what matching has committed too: a forwarded place is found by its entry until then."""
        return below_downstream(self.outbox.producer)


class MatchingWorker(StageWorker):
    def __init__(self, shard: int, client: redis.Redis, standby: bool = False) -> None:
        super().__init__(f"matching-{shard}", matching_keys(shard), client, standby)
        self.shard = shard
        self._stage: MatchingStage | None = None
        self._depth_sequence: dict[str, int] = {}
        self._level_texts: dict[str, LevelTexts] = {}
        self._windows: dict[str, DepthWindow] = {}
        self.expiry_clock = ExpiryClock(shard, self.keys.stream, client)
        logger.info("%s: the matching engine is %s", self.name, ENGINE_BUILD)
        metrics.ENGINE_COMPILED.labels(self.name).set(ENGINE_BUILD.startswith("compiled"))

    def step(self) -> bool:
        """A step; when idle with a good-till-date order due, a clock tick into the own stream (ADR 0013)."""
        if self._stage is not None and self._stage.journeys.waiting and self.buffer is not None:
            self._stage.write_journeys()  # an idle worker commits them after WRITE_BUFFER_MAX_DELAY_MS
        busy = super().step()
        if not busy and self._stage is not None and self.holds_lease:
            busy = self.expiry_clock.tick(self._stage.soonest_expiry)
        return busy

    def next_duty_in_ms(self) -> int | None:
        """Until the next clock tick a good-till-date order needs: the idle read wakes for it."""
        if self._stage is None:
            return None
        return self.expiry_clock.due_in_ms(self._stage.soonest_expiry)

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
            _accounts_streams(),
            fee_user_id(),
            self.keys,
            settings.REDIS_KEY_PREFIX,
            self._my_markets,
        )
        for symbol in markets:
            self._queue_restart_depth(symbol)
        self._send()
        return self._stage

    def after_batch(self) -> None:
        """The batch's trades and depth changes: one events entry, sent with the rest of the output."""
        stage = self._stage
        if stage is None:
            return
        events = [dumps(event) for event in stage.market_events]
        stage.market_events.clear()
        for symbol in sorted(stage.depth_changes):
            update = self._queue_depth(symbol, restart=False)
            if update is not None:
                events.append(update)
        stage.depth_changes.clear()
        if events:
            self.outbox.messages.append((self.keys.events, feed_fields(events)))

    def _maxlen(self, stream: str) -> int | None:
        return settings.EVENTS_STREAM_MAXLEN if stream == self.keys.events else None

    # The orders' journeys (exchange/pipeline/journey.py): stamped as the outputs leave and as the
    # batch commits, then written with the next batch.

    def _output_commands(self) -> list[Command]:
        commands = super()._output_commands()
        if self._stage is not None:
            self._stage.journeys.sent()
        return commands

    def before_hand_over(self) -> Callable[[int], None] | None:
        if self._stage is None:
            return None
        self._stage.write_journeys()
        return self._stage.journeys.take_sent()

    def _commit(self) -> None:
        super()._commit()
        if self._stage is not None and self._stage.write_journeys():
            super()._commit()  # the journeys of the batch just committed (stopping, tests)

    def _queue_restart_depth(self, symbol: str) -> None:
        """After a (re)start: a full snapshot with the next sequence, so readers reset."""
        stored: Any = self.redis.get(depth_key(self.keys, symbol))
        self._depth_sequence[symbol] = json.loads(stored)["seq"] if stored else 0
        self._windows[symbol] = DepthWindow()
        snapshot = self._queue_depth(symbol, restart=True)
        assert snapshot is not None
        self.outbox.messages.append((self.keys.events, feed_fields([snapshot])))

    def _queue_depth(self, symbol: str, restart: bool) -> bytes | None:
        """The top of the book for REST and WebSocket snapshots; returns its event (None: no change).

        The event is a snapshot after a restart, else an update of the
        levels that changed in the window of DEPTH_LEVELS a side, those that
        left it (size 0) and those that moved up into it. The sequence grows
        by one per batch that changed the window, so a reader that sees a
        gap knows to take the snapshot again.
        """
        assert self._stage is not None
        rules = self._stage.markets[symbol]
        bids, asks = self._stage.books[symbol].depth(settings.DEPTH_LEVELS)
        bid_changes, ask_changes = self._windows.setdefault(symbol, DepthWindow()).move_to(bids, asks)
        if not restart and not bid_changes and not ask_changes:
            return None  # only levels below the window changed
        sequence = self._depth_sequence[symbol] = self._depth_sequence.get(symbol, 0) + 1
        texts = self._level_texts.setdefault(symbol, LevelTexts(rules.tick_size, rules.lot_size))
        bid_texts, ask_texts = texts.levels(bids), texts.levels(asks)
        checksum = depth_checksum(bid_texts, ask_texts)
        snapshot = {
            "symbol": symbol,
            "seq": sequence,
            "bids": bid_texts,
            "asks": ask_texts,
            "checksum": checksum,
        }
        self.outbox.values[depth_key(self.keys, symbol)] = dumps(snapshot)
        event: dict[str, Any]
        if restart:
            event = {"type": "depth_snapshot", **snapshot}
        else:
            event = {
                "type": "depth_update",
                "symbol": symbol,
                "seq": sequence,
                "bids": texts.levels(bid_changes),
                "asks": texts.levels(ask_changes),
                "checksum": checksum,
            }
        return dumps(event)


def _accounts_streams() -> Callable[[int], str]:
    """The accounts stream of a user's partition, worked out once per user."""
    streams: dict[int, str] = {}

    def stream_of(user_id: int) -> str:
        stream = streams.get(user_id)
        if stream is None:
            stream = streams[user_id] = accounts_keys(account_shard_for(user_id)).stream
        return stream

    return stream_of


class LevelTexts:
    """Price and size texts of one market's depth levels, each formatted once.

    A depth snapshot of 100 levels a side is 400 numbers per batch; turning
    ticks and lots back into decimal strings was most of the matching
    worker's time per batch when batches are small.
    """

    _LIMIT = 100_000

    def __init__(self, tick_size: Decimal, lot_size: Decimal) -> None:
        self.tick_size = tick_size
        self.lot_size = lot_size
        self._prices: dict[int, str] = {}
        self._sizes: dict[int, str] = {}

    def levels(self, side: list[tuple[int, int]]) -> list[list[str]]:
        prices, sizes = self._prices, self._sizes
        if len(prices) > self._LIMIT or len(sizes) > self._LIMIT:
            prices.clear()
            sizes.clear()
        found = []
        for price, size in side:
            price_text = prices.get(price)
            if price_text is None:
                price_text = prices[price] = str(from_ticks(price, self.tick_size))
            size_text = sizes.get(size)
            if size_text is None:
                size_text = sizes[size] = str(from_lots(size, self.lot_size))
            found.append([price_text, size_text])
        return found
