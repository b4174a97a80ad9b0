"""A long read is committed in parts, between its entries, and loses nothing if a part fails to send."""

from __future__ import annotations

import redis

from tests.pipeline.checks import assert_places_forwarded_once
from tests.pipeline.test_outages import cross_and_check, fund


def _commit_at_once(worker, monkeypatch, seen: list[tuple[str, int]]) -> None:
    """The worker's flusher commits each batch before the loop goes on, recording where the batch ends."""
    flusher = worker.flusher
    real_submit = flusher.submit

    def submit(batch, acks, after_commit=None):
        seen.append((batch.position.last_entry_id, len(acks)))
        real_submit(batch, acks, after_commit)
        flusher.wait()

    monkeypatch.setattr(flusher, "submit", submit)


def test_a_read_is_handed_over_between_its_entries_once_the_buffer_is_due(
    pipeline, alice, bob, monkeypatch, settings
):
    fund(pipeline, alice, bob)
    accounts = pipeline.workers[0]
    accounts.buffer.max_items = 1  # due after any entry that writes a row
    handed: list[tuple[str, int]] = []
    _commit_at_once(accounts, monkeypatch, handed)
    read_sizes: list[int] = []
    real_apply = accounts._apply

    def apply(entries):
        read_sizes.append(len(entries))
        real_apply(entries)

    monkeypatch.setattr(accounts, "_apply", apply)
    cross_and_check(pipeline, alice, bob)
    assert read_sizes[0] == 2  # both places came in one read...
    assert handed[0][1] == 1  # ...and the first was committed before the second was applied


def test_a_failed_send_inside_a_read_loses_none_of_the_rest_of_it(
    pipeline, alice, bob, monkeypatch, redis_conn
):
    fund(pipeline, alice, bob)
    accounts = pipeline.workers[0]
    accounts.buffer.max_items = 1
    real_round_trip = accounts.wire.round_trip
    failed = {"left": 1}

    def send_fails(commands):
        if failed["left"] and commands and commands[-1][0] != "XREADGROUP":  # a send within the read
            failed["left"] -= 1
            raise redis.ConnectionError("Connection reset by peer")
        return real_round_trip(commands)

    monkeypatch.setattr(accounts.wire, "round_trip", send_fails)
    cross_and_check(pipeline, alice, bob)
    assert failed["left"] == 0
    assert_places_forwarded_once(redis_conn, 2)
