"""Prometheus metrics of the API, served by each API process on /metrics."""

from __future__ import annotations

from prometheus_client import Histogram

# From 0.25 ms: the order path itself takes well under a millisecond.
ORDER_LATENCY = Histogram(
    "spot_api_order_seconds",
    "Time to answer POST /orders inside the API process, by path and HTTP status.",
    ["path", "status"],
    buckets=(0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def observe_order(path: str, status: int, seconds: float) -> None:
    ORDER_LATENCY.labels(path, str(status)).observe(seconds)
