"""Prometheus metrics of the workers, served on each worker's own port."""

from __future__ import annotations

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
STREAM_LAG = Gauge(
    "spot_worker_stream_lag_entries", "Entries in the input stream not yet delivered", ["worker"]
)
