"""Prometheus metrics of the workers, served on each worker's own port."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

COMMANDS = Counter("spot_worker_entries_total", "Stream entries applied", ["worker"])
DEAD_LETTERS = Counter("spot_worker_dead_letters_total", "Entries sent to the dead-letter stream", ["worker"])
FAULTS = Counter("spot_worker_faults_total", "Redis or database errors retried", ["worker"])
READ_BATCH = Histogram(
    "spot_worker_read_batch_entries",
    "Entries per XREADGROUP batch",
    ["worker"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
FLUSH_ROWS = Histogram(
    "spot_worker_flush_rows",
    "Rows written per commit",
    ["worker"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
FLUSH_SECONDS = Histogram(
    "spot_worker_flush_seconds",
    "Time to write a batch and commit it with the stream position",
    ["worker"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
STAGE_LATENCY = Histogram(
    "spot_worker_stage_latency_seconds",
    "From an entry's XADD to the moment this stage sends what it produced (match latency for matching "
    "workers); the XADD time is the entry id's millisecond, so this reads up to 1 ms high",
    ["worker"],
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
)
ENGINE_COMPILED = Gauge(
    "spot_matching_engine_compiled",
    "1 when this matching worker runs the engine's mypyc build, 0 for the pure-Python modules (SPOT_ENGINE)",
    ["worker"],
)
STREAM_LAG = Gauge(
    "spot_worker_stream_lag_entries", "Entries in the input stream not yet delivered", ["worker"]
)

# Business figures. A restart re-applies the entries after the last commit, so
# a counter can count those twice; Prometheus's rate() takes the reset in stride.
ORDERS_ACCEPTED = Counter(
    "spot_orders_accepted_total",
    "Orders the engine accepted (rested or matched), by market and side",
    ["market", "side"],
)
TRADES = Counter("spot_trades_total", "Trades, by market", ["market"])
TRADED_BASE = Counter("spot_traded_base_total", "Base quantity traded, by market", ["market"])
TRADED_QUOTE = Counter("spot_traded_quote_total", "Quote amount traded (price x quantity)", ["market"])
ACTIVE_USERS = Gauge(
    "spot_active_users",
    "Distinct users who sent an order in the last 5 minutes, on this accounts shard (shards partition "
    "users: their sum is the exchange's figure)",
    ["worker"],
)
ACTIVE_WINDOW_MS = 300_000


class MarketCounters:
    """One market's business counters, looked up once: per order, labels() costs more than inc()."""

    def __init__(self, symbol: str) -> None:
        self.accepted = {side: ORDERS_ACCEPTED.labels(symbol, side) for side in ("BUY", "SELL")}
        self.trades = TRADES.labels(symbol)
        self.base = TRADED_BASE.labels(symbol)
        self.quote = TRADED_QUOTE.labels(symbol)


class RecentUsers:
    """Users by the time of their last order, counted when Prometheus scrapes.

    The accounts loop records (a dict store per order); the scrape, in the
    metrics server's thread, counts and forgets those older than the window.
    """

    def __init__(self, window_ms: int = ACTIVE_WINDOW_MS, clock: Callable[[], float] = time.time) -> None:
        self.window_ms = window_ms
        self.clock = clock
        self._last_ms: dict[int, int] = {}
        self._lock = threading.Lock()

    def seen(self, user_id: int, ms: int) -> None:
        with self._lock:
            self._last_ms[user_id] = ms

    def count(self) -> int:
        cutoff = int(self.clock() * 1000) - self.window_ms
        with self._lock:
            for user_id in [user_id for user_id, ms in self._last_ms.items() if ms < cutoff]:
                del self._last_ms[user_id]
            return len(self._last_ms)
