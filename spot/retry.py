"""How long a process waits before it retries a Redis or database call that failed.

0.1 s, doubling, at most 1 s. A Redis failover takes a few seconds (the
cluster's node timeout, then the replica's election): with retries at
most a second apart every worker and WebSocket reader is back within
about a second of the new master, where a 5 s cap left them idle for up
to 3 s more (docs/BENCHMARKS.md, Redis Cluster failover). An outage
costs each process one attempt and one warning a second.
"""

from __future__ import annotations

FIRST_S = 0.1
LONGEST_S = 1.0


def next_backoff(previous: float) -> float:
    """The wait after a failure that followed a wait of `previous` seconds (0 for the first failure)."""
    return min(LONGEST_S, max(FIRST_S, previous * 2))
