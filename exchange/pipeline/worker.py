"""The long-running loop shared by the accounts and matching workers.

One step reads a batch with XREADGROUP ... BLOCK (push, no polling), applies
each entry to the stage, sends what the stage produced, and commits the
write buffer with the stream position when it is due; entries are acked
once committed. A worker that is not the shard's leader waits as a standby.

Redis and database faults of the moment are retried with backoff; a
database error that no retry can cure (persistence/failures.py) stops the
worker with exit status 1. A signal ends a backoff at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from exchange.pipeline import metrics
from exchange.pipeline.cluster_wire import wire_for
from exchange.pipeline.flusher import CommitAbandoned, Flusher
from exchange.pipeline.ids import entry_id_less_or_equal
from exchange.pipeline.keys import CONSUMER_GROUP, ShardKeys
from exchange.pipeline.lease import Lease
from exchange.pipeline.messages import MalformedEntry, decode
from exchange.pipeline.outbox import MalformedGroups, Outbox, user_feed
from exchange.pipeline.trimming import TrimFloor, below_committed
from exchange.pipeline.user_events import append_commands
from exchange.pipeline.wire import Command, Entry, first_error, read_entries, xadd, xreadgroup
from persistence.failures import DeterministicFailure, is_deterministic
from persistence.offsets import CommittedPosition, Fenced, claim_epoch, load_position
from persistence.write_buffer import WriteBuffer
from spot.garbage import settle_garbage_collector
from spot.retry import next_backoff

logger = logging.getLogger("spot.worker")


class Pause:
    """A wait that a signal handler can cut short.

    A handler runs in the main thread between two bytecodes, possibly while
    that thread holds a threading.Event's lock inside wait(): setting the
    Event there can deadlock. Writing a byte to a pipe is safe in a handler,
    and select() wakes on it.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def wait(self, seconds: float) -> None:
        select.select([self._read], [], [], seconds)

    def interrupt(self) -> None:
        with contextlib.suppress(BlockingIOError):  # the pipe is full: it is awake already
            os.write(self._write, b"\0")


class Stage(Protocol):
    def handle(self, entry_id: str, message: dict[str, Any]) -> None: ...


class StageWorker(ABC):
    """Leader election, the read-apply-send-commit loop, and a graceful stop."""

    def __init__(self, name: str, keys: ShardKeys, client: redis.Redis, standby: bool = False) -> None:
        self.name = name
        self.keys = keys
        self.redis = client
        self.wire = wire_for(client)  # the loop's own connection: outputs and reads
        self.standby = standby
        # Set by the management command: the worker may tune the process (GC), unlike one inside tests.
        self.owns_process = False
        # A worker stepped by a caller that steps it again until it is idle (tests) reads
        # without blocking; a running worker waits in the read for its next entries.
        self.waits_in_read = True
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.lease = Lease(client, keys, self.consumer, settings.WORKER_LEASE_TTL_MS)
        self.stopping = False
        self.exit_status = 0
        self._pause: Pause | None = None  # made by run(), which owns the signals
        self.stage: Stage | None = None
        self.buffer: WriteBuffer | None = None
        self.flusher: Flusher | None = None
        self.outbox = Outbox(keys.tag)
        self._unacked: list[bytes] = []
        self._reread = False  # after a Redis error: read this consumer's pending entries first
        self._applied_ms: list[int] = []  # the XADD millisecond of each entry applied and not yet sent on
        self._lease_renewed_at = 0.0
        # What the probes read (exchange/pipeline/probes.py): when the loop last came round,
        # and whether a standby's last try for the lease reached Redis and the database.
        self.beat = time.monotonic()
        self.standby_ready = False
        self._lag_checked_at = 0.0
        self._backoff = 0.0
        self._labels = {"worker": name}
        # The labelled children, looked up once: per entry, labels() cost more than observe().
        self._stage_latency = metrics.STAGE_LATENCY.labels(**self._labels)
        self._commands = metrics.COMMANDS.labels(**self._labels)
        self._read_batch = metrics.READ_BATCH.labels(**self._labels)
        # Exported at 0 from the start, so increase() and the alerts see the first one.
        metrics.DEAD_LETTERS.labels(**self._labels)
        metrics.FAULTS.labels(**self._labels)

    # --------------------------------------------------------- to implement

    @abstractmethod
    def build_stage(self, position: CommittedPosition, buffer: WriteBuffer) -> Stage:
        """Load state from the database and make the stage that applies entries."""

    def trim_floor(self) -> TrimFloor:
        """How far the input stream may be trimmed after a commit: below the committed entry."""
        return below_committed

    def after_batch(self) -> None:  # noqa: B027  (a hook; most workers need nothing here)
        """Hook after each applied batch (the matching worker publishes depth)."""

    def before_hand_over(self) -> Callable[[int], None] | None:
        """Hook before a batch is handed to the flusher; returns what its thread runs once it commits."""
        return None

    # ---------------------------------------------------------------- loop

    def run(self) -> str:
        """Run until stopped; returns the reason, which is also logged."""
        self._install_signals()
        reason = "stopped by signal"
        try:
            while not self.stopping:
                self.beat = time.monotonic()  # once a step (a batch), not per entry
                if self.stage is None and not self.become_leader():
                    self._stand_by()
                    self._sleep(settings.WORKER_STANDBY_POLL_S)
                    continue
                if not self.step():
                    continue
        except Fenced as exc:
            reason = f"fenced: {exc}"
        except CommitAbandoned as exc:  # stopping while the database is down
            reason = f"stopped by signal without the last commit (a restart replays it): {exc}"
        except DeterministicFailure as exc:
            reason = f"failed: {exc}"
            self.exit_status = 1
        finally:
            self.shutdown()
        if self.exit_status:
            logger.critical("%s exiting: %s", self.name, reason)
        else:
            logger.info("%s exiting: %s", self.name, reason)
        return reason

    def become_leader(self) -> bool:
        try:
            floor = load_position(self.name).lease_epoch
            if not self.lease.try_acquire(floor):
                self.standby_ready = True  # both reached; another worker holds the lease
                return False
            position = claim_epoch(self.name, self.keys.stream, self.lease.epoch)
            self.lease.leave_standbys()
            self._lease_renewed_at = time.monotonic()
            close_old_connections()
            self.buffer = WriteBuffer(
                self.name,
                self.keys.stream,
                position,
                max_items=settings.WRITE_BUFFER_MAX_ITEMS,
                max_delay_s=settings.WRITE_BUFFER_MAX_DELAY_MS / 1000,
            )
            self.stage = self.build_stage(position, self.buffer)
            if self.owns_process:
                settle_garbage_collector()
            self._rewind_group(position.last_entry_id)
            self._reread = False
            self.flusher = Flusher(
                self.name, self.redis, self.keys.stream, self.lease.epoch, self.trim_floor()
            )
        except (redis.RedisError, DatabaseError) as exc:
            self.standby_ready = False
            self.stage = None
            self._fault("becoming leader", exc)
            return False
        logger.info(
            "%s is leader (epoch %s), resuming after %s", self.name, self.lease.epoch, position.last_entry_id
        )
        return True

    def step(self) -> bool:
        """Send the last batch's outputs, read and apply the next batch, commit if due.

        Returns whether there was work (something read or sent).
        """
        assert self.buffer is not None and self.stage is not None
        try:
            if not self._keep_lease():
                return False
            if self.flusher is not None and self.flusher.error is not None:
                raise self.flusher.error
            # Sending, or reading the pending list after a fault, is work: the next read may bring more.
            had_work = self.outbox.has_output or self._reread
            entries = self._send_and_read()
            if entries:
                self._apply(entries)
            if self.buffer.due():
                self._hand_over()
            self._backoff = 0.0
            self._report_lag()
            return bool(entries) or had_work
        except Fenced:
            raise
        except (redis.RedisError, DatabaseError) as exc:
            self._fault("step", exc)
            return True  # work is waiting: what failed is retried by the next step

    @property
    def holds_lease(self) -> bool:
        """Leading, with the lease renewed within its TTL (as this worker last saw it)."""
        age_ms = (time.monotonic() - self._lease_renewed_at) * 1000
        return self.stage is not None and age_ms < settings.WORKER_LEASE_TTL_MS

    def _stand_by(self) -> None:
        try:
            self.lease.stand_by()
        except redis.RedisError as exc:
            # Redis is down: becoming leader failed on it too and said so.
            logger.debug("%s: could not register as a standby: %s", self.name, exc)

    # ------------------------------------------------------------- pieces

    def _send_and_read(self) -> list[Entry]:
        """What the last batch produced, sent, and the next batch read: one round trip.

        The XADDs run at once; the read then blocks until entries arrive. If
        a reply is lost on the way (a broken connection), entries Redis
        delivered may sit in this consumer's pending list unseen, and `>`
        would never deliver them again: the next read takes them from there.
        """
        self._observe_stage_latency()
        return self._round_trip(self._output_commands())

    def _observe_stage_latency(self) -> None:
        """Each entry applied since the last send: from its XADD to now, as its outputs leave."""
        if self._applied_ms:
            now_ms = time.time() * 1000
            for added_ms in self._applied_ms:
                self._stage_latency.observe(max(0.0, now_ms - added_ms) / 1000)
            self._applied_ms.clear()

    def _read(self) -> list[Entry]:
        """Read the next batch (sending nothing)."""
        return self._round_trip([])

    def _round_trip(self, outputs: list[Command]) -> list[Entry]:
        # What the flusher committed since the last round trip is acknowledged with it (ADR 0018).
        acks = self.flusher.take_acks() if self.flusher is not None else []
        commands = [*outputs, ("XACK", self.keys.stream, CONSUMER_GROUP, *acks)] if acks else outputs
        try:
            replies = self.wire.round_trip([*commands, self._read_command()])
        except redis.RedisError:
            self._give_back(acks)
            self._reread = True
            raise
        if acks and isinstance(replies[len(outputs)], Exception):
            self._give_back(acks)
        failed = first_error(replies[: len(outputs)])
        if outputs and failed is None:
            self.outbox.drain()  # sent, whatever became of the read: never sent twice
        if failed is not None or isinstance(replies[-1], Exception):
            self._reread = True
            raise failed or replies[-1]
        entries = read_entries(replies[-1])
        # Pending entries come a batch at a time: read from there until a short batch.
        self._reread = self._reread and len(entries) >= settings.WORKER_READ_COUNT
        return entries

    def _give_back(self, acks: list[bytes]) -> None:
        if acks and self.flusher is not None:
            self.flusher.give_back_acks(acks)

    def _read_command(self) -> Command:
        assert self.buffer is not None
        if self._reread:
            # Entries after the last one applied that are pending for this consumer.
            after = self.buffer.position.last_entry_id
            return xreadgroup(
                CONSUMER_GROUP, self.consumer, self.keys.stream, after, settings.WORKER_READ_COUNT, None
            )
        block_ms: int | None = self._block_ms()
        if not self.waits_in_read:
            block_ms = None
        elif self.buffer.has_pending:
            block_ms = max(1, int(self.buffer.max_delay_s * 1000))
        return xreadgroup(
            CONSUMER_GROUP, self.consumer, self.keys.stream, ">", settings.WORKER_READ_COUNT, block_ms
        )

    def _block_ms(self) -> int:
        """How long an idle read may wait: WORKER_BLOCK_MS, cut short by the next duty of the clock.

        A read that times out wakes the process for nothing but its duties,
        and on a virtual machine a wake-up costs tens of µs of CPU however
        little it does (docs/BENCHMARKS.md, *Wake-ups*): an idle worker
        wakes when the lease is due for renewal or a subclass's duty is due
        (next_duty_in_ms), not every few milliseconds.
        """
        lease_due_s = self._lease_renewed_at + settings.WORKER_LEASE_TTL_MS / 5000 - time.monotonic()
        wait_ms = min(settings.WORKER_BLOCK_MS, int(lease_due_s * 1000) + 1)
        duty_ms = self.next_duty_in_ms()
        if duty_ms is not None:
            wait_ms = min(wait_ms, duty_ms)
        return max(1, wait_ms)

    def next_duty_in_ms(self) -> int | None:
        """Milliseconds until the worker has something to do by the clock, if anything (a hook)."""
        return None

    def _apply(self, entries: list[Entry]) -> None:
        assert self.buffer is not None and self.stage is not None
        last = len(entries) - 1
        for index, (raw_id, fields) in enumerate(entries):
            entry_id = raw_id.decode()
            self.outbox.begin(entry_id)
            try:
                self.stage.handle(entry_id, decode(fields))
            except MalformedGroups as exc:
                for sequence, reason, commands in exc.failures:
                    self._dead_letter(
                        entry_id, {b"group": sequence.encode(), b"d": json.dumps(commands).encode()}, reason
                    )
            except MalformedEntry as exc:
                self._dead_letter(entry_id, fields, str(exc))
            self.outbox.end()
            self.buffer.advance(entry_id)
            self._unacked.append(raw_id)
            self._applied_ms.append(int(entry_id.partition("-")[0]))
            if index < last and self.buffer.due():
                self._hand_over_within_read()
        self._commands.inc(len(entries))
        self._read_batch.observe(len(entries))
        self.after_batch()

    def _hand_over_within_read(self) -> None:
        """Commit what a long read has applied so far, between two of its entries.

        A read of a few hundred entries can carry settlements of a hundred
        thousand orders (each settlement entry holds a whole matching batch).
        Applied whole before anything is committed, it left the database idle
        for a second and then gave it one transaction of 150,000 rows. The
        entries applied so far are sent first (their market events too), as
        at the end of a read. If that fails, the rest of the read is pending
        for this consumer: the next step reads it from there.
        """
        try:
            self.after_batch()
            self._hand_over()
        except (redis.RedisError, DatabaseError):
            self._reread = True
            raise

    def _send(self) -> None:
        """Send what is collected (one XADD per destination stream and per user), in one round trip."""
        if not self.outbox.has_output:
            return
        self._observe_stage_latency()
        replies = self.wire.round_trip(self._output_commands())
        failed = first_error(replies)
        if failed is not None:
            raise failed
        self.outbox.drain()

    def _output_commands(self) -> list[Command]:
        commands = [xadd(stream, fields, self._maxlen(stream)) for stream, fields in self.outbox.entries()]
        commands += [("SET", key, value) for key, value in self.outbox.values.items()]
        for channel, events in user_feed(self.outbox.publications).items():
            # The user's gap-free, resumable feed, numbered per user, and its wake-up (user_events.py).
            commands += append_commands(channel, events, settings.USER_EVENTS_MAXLEN)
        return commands

    def _maxlen(self, stream: str) -> int | None:
        """Streams that no stage consumes (market events) are capped; input streams are trimmed by offset."""
        return None

    def _hand_over(self) -> None:
        """Give the batch to the flusher when it is free; while it writes, the next batch grows."""
        assert self.buffer is not None and self.flusher is not None
        if self.flusher.error is not None:
            raise self.flusher.error
        if not self.flusher.idle:
            if self.buffer.pending_items < self.buffer.max_items * settings.WRITE_BUFFER_BACKLOG_FACTOR:
                return
            self.flusher.wait()  # the database is this far behind: stop reading until it catches up
        self._send()  # a commit must never cover entries whose outputs were not sent
        self._submit()

    def _commit(self) -> None:
        """Send what is pending, commit everything read so far and wait for it (stopping, tests)."""
        assert self.buffer is not None and self.flusher is not None
        self._send()
        self.flusher.wait()
        if self.buffer.has_pending:
            self._submit()
        self.flusher.wait()

    def _submit(self) -> None:
        assert self.buffer is not None and self.flusher is not None
        after_commit = self.before_hand_over()
        self.flusher.submit(self.buffer.detach(), self._unacked, after_commit)
        self._unacked = []

    def _ack_committed(self) -> None:
        """Acknowledge what is committed and not yet acknowledged (stopping: no next round trip)."""
        assert self.flusher is not None
        acks = self.flusher.take_acks()
        if acks:
            try:
                self.redis.xack(self.keys.stream, CONSUMER_GROUP, *acks)
            except redis.RedisError as exc:  # a restart acknowledges them: they are committed
                logger.warning("%s: could not acknowledge the last entries: %s", self.name, exc)

    def _keep_lease(self) -> bool:
        now = time.monotonic()
        if now - self._lease_renewed_at < settings.WORKER_LEASE_TTL_MS / 5000:
            return True
        if self.lease.renew():
            self._lease_renewed_at = now
            return True
        logger.error(
            "%s lost its lease (epoch %s); dropping state and standing by", self.name, self.lease.epoch
        )
        self._drop_state()
        return False

    def _rewind_group(self, committed: str) -> None:
        """Deliver again everything after the committed entry; ack what is already committed."""
        try:
            self.redis.xgroup_create(self.keys.stream, CONSUMER_GROUP, id=committed, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            self.redis.xgroup_setid(self.keys.stream, CONSUMER_GROUP, id=committed)
        start = "-"
        while True:
            pending: Any = self.redis.xpending_range(
                self.keys.stream, CONSUMER_GROUP, min=start, max="+", count=1000
            )
            if not pending:
                break
            done = [
                item["message_id"]
                for item in pending
                if entry_id_less_or_equal(item["message_id"].decode(), committed)
            ]
            if done:
                self.redis.xack(self.keys.stream, CONSUMER_GROUP, *done)
            if len(pending) < 1000 or len(done) < len(pending):
                break
            start = "(" + pending[-1]["message_id"].decode()
        for consumer in self.redis.xinfo_consumers(self.keys.stream, CONSUMER_GROUP):
            name = consumer["name"].decode() if isinstance(consumer["name"], bytes) else consumer["name"]
            if name != self.consumer and consumer.get("pending", 0) == 0:
                self.redis.xgroup_delconsumer(self.keys.stream, CONSUMER_GROUP, name)

    def _dead_letter(self, entry_id: str, fields: dict[bytes, bytes], reason: str) -> None:
        logger.warning("%s: entry %s to the dead-letter stream: %s", self.name, entry_id, reason)
        metrics.DEAD_LETTERS.labels(**self._labels).inc()
        payload = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
        self.outbox.messages.append(
            (self.keys.dead_letters, {"entry": entry_id, "reason": reason, "fields": json.dumps(payload)})
        )

    def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_checked_at < 1.0:
            return
        self._lag_checked_at = now
        for group in self.redis.xinfo_groups(self.keys.stream):
            if group.get("name") in (CONSUMER_GROUP, CONSUMER_GROUP.encode()):
                lag = group.get("lag")
                if lag is None:  # Redis < 7: count pending as the closest figure
                    lag = group.get("pending", 0)
                metrics.STREAM_LAG.labels(**self._labels).set(lag or 0)

    def _fault(self, what: str, exc: Exception) -> None:
        """Log a fault and back off before the retry; raises DeterministicFailure if retrying cannot help."""
        metrics.FAULTS.labels(**self._labels).inc()
        if isinstance(exc, DatabaseError) and is_deterministic(exc):
            raise DeterministicFailure(f"{what}: {type(exc).__name__} {exc}") from exc
        self._backoff = next_backoff(self._backoff)
        logger.warning(
            "%s: %s failed (%s: %s); retrying in %.1fs",
            self.name,
            what,
            type(exc).__name__,
            exc,
            self._backoff,
        )
        if isinstance(exc, DatabaseError):
            close_old_connections()
        self._sleep(self._backoff)

    def _sleep(self, seconds: float) -> None:
        """Wait, unless stopping; a signal ends the wait."""
        if self.stopping:
            return
        if self._pause is None:
            time.sleep(seconds)
        else:
            self._pause.wait(seconds)

    def _drop_state(self) -> None:
        if self.flusher is not None:
            self.flusher.stop()
            self.flusher = None
        self.stage = None
        self.buffer = None
        self.standby_ready = False
        self._unacked.clear()
        self._applied_ms.clear()
        self.outbox.drain()
        self.wire.close()

    # ------------------------------------------------------------ stopping

    def _install_signals(self) -> None:
        self._pause = Pause()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            logger.warning("%s: second signal, stopping at once", self.name)
            os._exit(1)
        logger.info("%s: %s received, finishing the batch", self.name, signal.Signals(signum).name)
        self.stopping = True
        if self._pause is not None:
            self._pause.interrupt()
        if self.flusher is not None:
            # Safe in a handler: only the flusher's thread ever waits on what this sets.
            self.flusher.stop_retrying()

    def shutdown(self) -> None:
        """Flush, commit, ack and release the lease; after a fault, just let go.

        A stop does not wait for a database that is down: the flusher tries
        the last batches once, and what it cannot commit a restart replays.
        """
        if self.stage is None or self.buffer is None:
            try:
                self.lease.leave_standbys()
            except redis.RedisError as exc:
                logger.warning("%s: could not leave the standbys: %s", self.name, exc)
            return
        if self.flusher is not None:
            self.flusher.stop_retrying()
        for attempt in range(3):
            if self.exit_status:
                break  # a failed worker commits nothing more
            try:
                self._send()
                self._commit()
                self._ack_committed()
                break
            except Fenced:
                logger.error("%s: fenced while stopping; a newer leader owns the shard", self.name)
                break
            except (CommitAbandoned, DeterministicFailure) as exc:
                logger.warning(
                    "%s: stopping without the last commit (a restart replays it): %s", self.name, exc
                )
                break
            except (redis.RedisError, DatabaseError) as exc:
                logger.warning("%s: final commit attempt %s failed: %s", self.name, attempt + 1, exc)
                self._sleep(0.5)
        try:
            self.lease.release()
        except redis.RedisError as exc:
            logger.warning("%s: could not release the lease: %s", self.name, exc)
        self._drop_state()
