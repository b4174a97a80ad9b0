"""Commits a worker's batches on a thread of their own, in order.

The worker keeps reading and matching while a batch is written: its state
is already ahead of the database, and a crash replays from what is
committed, so the only thing the wait would buy is latency lost. One batch
is written at a time; while one is being written the next keeps growing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from exchange.pipeline import metrics
from exchange.pipeline.keys import CONSUMER_GROUP
from exchange.pipeline.trimming import TrimFloor, below_committed
from persistence.failures import DeterministicFailure, is_deterministic
from persistence.offsets import Fenced
from persistence.write_buffer import Batch
from spot.retry import next_backoff

logger = logging.getLogger("spot.worker")

_STOP = None
# Called on the flusher's thread with the time the batch committed (us since the epoch).
AfterCommit = Callable[[int], None] | None


class CommitAbandoned(Exception):
    """The worker is stopping and a batch could not be committed; a restart replays its entries."""


class Flusher:
    def __init__(
        self,
        name: str,
        client: redis.Redis,
        stream: str,
        epoch: int,
        trim_floor: TrimFloor = below_committed,
    ) -> None:
        self.name = name
        self.trim_floor = trim_floor
        self.redis = client
        self.stream = stream
        self.epoch = epoch
        # Set once, and then no batch is written any more.
        self.error: Fenced | DeterministicFailure | CommitAbandoned | None = None
        self._queue: queue.Queue[tuple[Batch, list[bytes], AfterCommit] | None] = queue.Queue(maxsize=1)
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._wake = threading.Event()  # ends a backoff when the worker stops
        self._trimmed_at = -float("inf")
        # Committed entries not acknowledged yet: the worker's next round trip carries them.
        self._acks_lock = threading.Lock()
        self._acks_due: list[bytes] = []
        self._labels = {"worker": name}
        self._thread = threading.Thread(target=self._run, name=f"{name}-flusher", daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    def submit(self, batch: Batch, acks: list[bytes], after_commit: AfterCommit = None) -> None:
        """Commit a batch after those before it; `after_commit` then runs on this thread, given when."""
        self._idle.clear()
        self._queue.put((batch, acks, after_commit))

    def take_acks(self) -> list[bytes]:
        """The committed entries to acknowledge, handed to the caller, who sends them or gives them back."""
        with self._acks_lock:
            acks, self._acks_due = self._acks_due, []
        return acks

    def give_back_acks(self, acks: list[bytes]) -> None:
        """Acknowledgements the caller could not send: the next round trip carries them."""
        with self._acks_lock:
            self._acks_due[:0] = acks

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every submitted batch is committed; raises the error that stopped one."""
        done = self._idle.wait(timeout)
        if self.error is not None:
            raise self.error
        return done

    def stop_retrying(self) -> None:
        """Make one more attempt at the batch in hand and at each one submitted, and no retries."""
        self._stopping = True
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self.stop_retrying()
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not _STOP:
                batch, acks, after_commit = item
                committed_us = self._commit(batch, acks)
                if committed_us and after_commit is not None:
                    _run_quietly(self.name, after_commit, committed_us)
                if self._queue.empty():
                    self._idle.set()
        finally:
            self._idle.set()
            connection.close()

    def _commit(self, batch: Batch, acks: list[bytes]) -> int:
        """When the batch committed, in us since the epoch; 0 if it was not."""
        backoff = next_backoff(0.0)
        while self.error is None:
            try:
                if connection.get_autocommit():
                    # Switching autocommit off and on around every batch costs two round
                    # trips; off for good, a COMMIT ends one batch and the next begins.
                    connection.set_autocommit(False)
                result = batch.commit(self.epoch)
                committed_us = time.time_ns() // 1000
            except Fenced as exc:
                self.error = exc
                return 0
            except DatabaseError as exc:
                metrics.FAULTS.labels(**self._labels).inc()
                if is_deterministic(exc):
                    self.error = DeterministicFailure(
                        f"the database refused the batch of entries {_span(acks)} "
                        f"(up to {batch.position.last_entry_id}): {type(exc).__name__} {exc}"
                    )
                    self.error.__cause__ = exc
                    return 0
                if self._stopping:
                    self.error = CommitAbandoned(f"entries {_span(acks)} not committed: {exc}")
                    return 0
                logger.warning("%s: commit failed (%s); retrying in %.1fs", self.name, exc, backoff)
                close_old_connections()
                self._wake.wait(backoff)
                backoff = next_backoff(backoff)
                continue
            metrics.FLUSH_SECONDS.labels(**self._labels).observe(result.seconds)
            metrics.FLUSH_ROWS.labels(**self._labels).observe(result.rows)
            self._after_commit(batch, acks)
            return committed_us
        return 0

    def _after_commit(self, batch: Batch, acks: list[bytes]) -> None:
        """Ack and trim only what is committed; a Redis error here costs a re-delivery, never data.

        The acknowledgements wait for the worker's next round trip, which
        sends its outputs and reads anyway: a round trip of their own after
        every commit woke this thread and Redis for nothing else (ADR 0018).
        Trimming only bounds the stream's memory, so it runs at most every
        STREAM_TRIM_INTERVAL_MS, not after every commit, and takes the
        acknowledgements due with it.
        """
        with self._acks_lock:
            self._acks_due.extend(acks)
        now = time.monotonic()
        trim_due = now - self._trimmed_at >= settings.STREAM_TRIM_INTERVAL_MS / 1000
        if not (settings.STREAM_TRIM_COMMITTED and trim_due):
            return
        self._trimmed_at = now
        try:
            floor = self.trim_floor(batch.position)
        except DatabaseError as exc:
            logger.warning("%s: not trimming after this commit: %s", self.name, exc)
            return
        due = self.take_acks()
        try:
            pipe = self.redis.pipeline(transaction=False)
            if due:
                pipe.xack(self.stream, CONSUMER_GROUP, *due)
            if floor != "0-0":
                pipe.xtrim(self.stream, minid=floor, approximate=True)
            pipe.execute()
        except redis.RedisError as exc:
            self.give_back_acks(due)
            logger.warning("%s: ack and trim after commit failed: %s", self.name, exc)


def _run_quietly(name: str, after_commit: Callable[[int], None], committed_us: int) -> None:
    """What a worker does after a commit observes it (an order's journey): it must not stop commits."""
    try:
        after_commit(committed_us)
    except Exception:
        logger.exception("%s: after a commit", name)


def _span(acks: list[bytes]) -> str:
    """The entries of a batch, for a log line: all of them when few, else the first and the last."""
    ids = [raw.decode() for raw in acks]
    if len(ids) <= 3:
        return ", ".join(ids) or "(none)"
    return f"{ids[0]} .. {ids[-1]} ({len(ids)})"
