"""Each order's journey: when it passed each stage of the pipeline, and a histogram per stage.

The stages, each an integer time in microseconds since the epoch, taken by
the process that saw it:

- accepted: the API's XADD to the accounts stream (the command's ``ts``,
  the entry id's millisecond on Redis's clock);
- accounts in: the accounts stage takes up the place command (``ai`` on the
  command it forwards);
- accounts out: the accounts worker sends its batch to matching (``o`` on the
  batch entry, stamped once per batch by the outbox);
- matching in: the matching stage reads that entry;
- matching out: the matching worker sends what the order caused (its
  settlements and its trader's updates);
- committed: the matching batch that holds the order's row commits;
- pushed: daphne writes the order's first update to a WebSocket; usually
  before the commit, which is off the critical path (see
  exchange/realtime/push_times.py).

What an order costs on the hot path: a clock read and one field in
accounts, one tuple in matching. The send and commit times are stamped once
per batch; the histograms are observed on the flusher's thread once the batch
commits. The journey rows of a batch are written with the next batch, since
its commit time is known only then: one more row per order in a multi-row
upsert, no statement or round trip of its own. A worker that stops or crashes
loses the journeys of its last batch; a replay writes them again.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import HistogramMetricFamily, Metric

# Between two stages; from acceptance to the commit; from acceptance to the push (daphne).
PIPELINE_STAGES = (
    "accounts_queue",  # accepted -> accounts in: the API's XADD and the wait in the accounts stream
    "accounts",  # accounts in -> accounts out
    "to_matching",  # accounts out -> matching in: the matching stream
    "matching",  # matching in -> matching out
    "commit",  # matching out -> committed
    "accepted_to_committed",
)
PUSH_STAGE = "accepted_to_pushed"
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

JOURNEY_FIELDS = (
    "order_id",
    "accepted_us",
    "accounts_in_us",
    "accounts_out_us",
    "matching_in_us",
    "matching_out_us",
    "committed_us",
)
# (order id, accepted ms, accounts in us, accounts out us, matching in us), as the matching stage saw it
Record = tuple[int, int, int, int, int]
Row = tuple[int, int, int | None, int | None, int, int, int]


def now_us() -> int:
    return time.time_ns() // 1000


class StageSeconds:
    """``spot_order_stage_seconds{stage}``, a histogram kept in plain lists.

    prometheus_client's Histogram takes a lock per observation (4 us
    measured on the CI machine); a stage sees every order, so this one counts
    into a list, a batch of durations at a time (`observe_us`: their buckets
    found and counted in C), and builds the histogram when Prometheus
    scrapes. One thread observes (a flusher's, or daphne's event loop); a
    scrape may read a count a few observations behind its sum.
    """

    name = "spot_order_stage_seconds"
    documentation = (
        "Time an order spent between two stages of the pipeline, or from its acceptance to its commit "
        "and to its first WebSocket push (exchange/pipeline/journey.py)"
    )

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self._bounds_us = tuple(round(bound * 1_000_000) for bound in buckets)
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, list[float]] = {}
        self._lock = threading.Lock()  # only for adding a stage

    def ensure(self, stages: tuple[str, ...]) -> None:
        """Export these stages from now on, at 0 until observed (rate() then sees the first one)."""
        with self._lock:
            for stage in stages:
                if stage not in self._counts:
                    self._sums[stage] = [0.0]
                    self._counts[stage] = [0] * (len(self.buckets) + 1)

    def observe(self, stage: str, seconds: float) -> None:
        counts = self._counts.get(stage)
        if counts is None:
            self.ensure((stage,))
            counts = self._counts[stage]
        counts[bisect_left(self.buckets, seconds)] += 1
        self._sums[stage][0] += seconds

    def observe_us(self, stage: str, durations_us: list[int]) -> None:
        """Many durations of a stage, in microseconds; a negative one (clock skew) counts as 0."""
        if not durations_us:
            return
        counts = self._counts.get(stage)
        if counts is None:
            self.ensure((stage,))
            counts = self._counts[stage]
        for index, count in Counter(map(partial(bisect_left, self._bounds_us), durations_us)).items():
            counts[index] += count
        total = sum(durations_us)
        if min(durations_us) < 0:
            total = sum(us for us in durations_us if us > 0)
        self._sums[stage][0] += total / 1_000_000

    def count(self, stage: str) -> int:
        return sum(self._counts.get(stage, ()))

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["stage"])
        for stage, counts in list(self._counts.items()):
            snapshot = list(counts)
            cumulative, total = [], 0
            for bound, count in zip((*self.buckets, float("inf")), snapshot, strict=True):
                total += count
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound), total))
            family.add_metric([stage], cumulative, self._sums[stage][0])
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=["stage"])


ORDER_STAGES = StageSeconds()
REGISTRY.register(ORDER_STAGES)


class Journeys:
    """The journeys a matching worker has seen, from the stage's record to the row written.

    The stage appends to `placed`; the worker calls `sent` as it sends a
    batch's outputs, `take_sent` as it hands a batch to the flusher (whose
    thread calls the returned function once that batch is committed), and
    `write` to put the committed journeys into the next batch.
    """

    def __init__(self, stages: StageSeconds = ORDER_STAGES, clock: Callable[[], int] = now_us) -> None:
        self.stages = stages
        self.clock = clock
        self.placed: list[Record] = []
        self._sent: list[tuple[int, list[Record]]] = []  # (matching out us, records) since the hand-over
        self._committed: deque[Row] = deque()  # appended by the flusher's thread
        stages.ensure(PIPELINE_STAGES)

    def sent(self) -> None:
        if self.placed:
            self._sent.append((self.clock(), self.placed))
            self.placed = []

    def take_sent(self) -> Callable[[int], None] | None:
        """What the flusher runs, with the commit time, once this batch commits (None: no journey in it)."""
        if not self._sent:
            return None
        sent, self._sent = self._sent, []
        return partial(self.committed, sent)

    def committed(self, sent: list[tuple[int, list[Record]]], committed_us: int) -> None:
        """On the flusher's thread: the commit time stamped, each stage observed, the rows queued."""
        rows: list[Row] = []
        queued: list[int] = []
        in_accounts: list[int] = []
        to_matching: list[int] = []
        in_matching: list[int] = []
        to_commit: list[int] = []
        for out_us, records in sent:
            for order_id, accepted_ms, in_us, forwarded_us, matched_us in records:
                accepted_us = accepted_ms * 1000
                if in_us and forwarded_us:
                    queued.append(in_us - accepted_us)
                    in_accounts.append(forwarded_us - in_us)
                    to_matching.append(matched_us - forwarded_us)
                in_matching.append(out_us - matched_us)
                to_commit.append(committed_us - out_us)
                rows.append(
                    (
                        order_id,
                        accepted_us,
                        in_us or None,
                        forwarded_us or None,
                        matched_us,
                        out_us,
                        committed_us,
                    )
                )
        observe = self.stages.observe_us
        observe("accounts_queue", queued)
        observe("accounts", in_accounts)
        observe("to_matching", to_matching)
        observe("matching", in_matching)
        observe("commit", to_commit)
        observe("accepted_to_committed", [committed_us - row[1] for row in rows])
        self._committed.extend(rows)

    @property
    def waiting(self) -> bool:
        """Committed journeys not yet given to a batch."""
        return bool(self._committed)

    def write(self, add: Callable[[Row], Any]) -> int:
        """Give the committed journeys to a batch (`add`: its journey table's); returns how many."""
        written = 0
        while self._committed:
            add(self._committed.popleft())
            written += 1
        return written
