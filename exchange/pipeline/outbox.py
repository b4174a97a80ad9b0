"""What a stage sends while it processes a batch of input, and how receivers drop replays.

Everything one input entry sends to one stream is a *group* tagged with
(producer, the input entry id). The groups of a whole read batch that go to
the same stream travel in one stream entry, ``{"t": "batch", "p": producer,
"g": [[entry id, [commands...]], ...]}``: one XADD per destination per
batch instead of one per input entry. A replay after a crash may cut its
batches differently, so the tag stays on each group: the receiver keeps the
last tag per producer (committed with its offset) and drops every group it
has already applied, whichever entry brought it.

Updates for traders (orders, fills, balances) are collected per user and
written the same way: one entry per user per batch on the user's events
stream, one event per field, numbered per user (user_events.py), and one
PUBLISH of all of them as a JSON array.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from exchange.pipeline.ids import parse_entry_id
from exchange.pipeline.messages import Fields, MalformedEntry, dumps, encode, require_str

Group = list[Any]  # [input entry id, [commands...]]


class Outbox:
    def __init__(self, producer: str) -> None:
        self.producer = producer
        self._entry_id = "0-0"
        self._pending: dict[str, list[Any]] = {}  # commands (objects) and settlement items (lists)
        self._groups: dict[str, list[Group]] = {}
        # Entries that go out as they are (dead letters), after the groups.
        self.messages: list[tuple[str, Fields]] = []
        self.publications: list[tuple[str, dict[str, Any]]] = []
        # Keys whose latest value this batch sets (a market's depth snapshot).
        self.values: dict[str, bytes] = {}

    def begin(self, entry_id: str) -> None:
        self._entry_id = entry_id

    def send(self, stream: str, command: dict[str, Any] | list[Any]) -> None:
        self._pending.setdefault(stream, []).append(command)

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.publications.append((channel, payload))

    def end(self) -> None:
        for stream, commands in self._pending.items():
            self._groups.setdefault(stream, []).append([self._entry_id, commands])
        self._pending.clear()

    @property
    def has_output(self) -> bool:
        return bool(self._groups or self.messages or self.publications or self.values)

    def entries(self) -> list[tuple[str, Fields]]:
        """One entry per destination stream for everything collected, then the raw ones.

        Each batch entry carries the time it is sent, "o" in microseconds
        (an order's journey: exchange/pipeline/journey.py).
        """
        sent_us = time.time_ns() // 1000
        grouped = [
            (stream, encode({"t": "batch", "p": self.producer, "o": sent_us, "g": groups}))
            for stream, groups in self._groups.items()
        ]
        return grouped + self.messages

    def drain(self) -> None:
        self._groups, self.messages, self.publications, self.values = {}, [], [], {}


class UserChannels(dict[int, str]):
    """Each user's updates channel, its name made once: `channels[user_id]`."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, user_id: int) -> str:
        channel = self[user_id] = f"{self.prefix}:user:{user_id}"
        return channel


def user_feed(publications: list[tuple[str, dict[str, Any]]]) -> dict[str, list[bytes]]:
    """Each user channel's events as JSON texts, in order; only the last balance per asset survives."""
    seen_balances: set[tuple[str, str]] = set()
    backwards: dict[str, list[bytes]] = {}
    for channel, payload in reversed(publications):  # one pass from the end: the last balance comes first
        if payload.get("type") == "balance":
            key = (channel, payload["asset"])
            if key in seen_balances:
                continue
            seen_balances.add(key)
        backwards.setdefault(channel, []).append(dumps(payload))
    return {channel: backwards[channel][::-1] for channel in reversed(backwards)}


def feed_fields(events: list[bytes]) -> Fields:
    """A market events stream entry: one event per field, named by its place ("0", "1", ...)."""
    return {str(index): text for index, text in enumerate(events)}


def groups_of(message: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """(producer, sequence, commands) of each group in a batch entry."""
    producer = require_str(message, "p")
    groups = message.get("g")
    if not isinstance(groups, list):
        raise MalformedEntry("'g' must be a list of [sequence, commands]")
    found = []
    for group in groups:
        if not (isinstance(group, list) and len(group) == 2 and isinstance(group[1], list)):
            raise MalformedEntry("a group must be [sequence, commands]")
        sequence = group[0]
        if not isinstance(sequence, str):
            raise MalformedEntry("a group's sequence must be a stream entry id")
        found.append((producer, sequence, group[1]))
    return found


class MalformedGroups(MalformedEntry):
    """Some groups of a batch entry could not be applied; the others were.

    Only the bad groups go to the dead-letter stream: a settlement that is
    fine must not be lost because another input's settlement beside it in
    the same entry was not.
    """

    def __init__(self, failures: list[tuple[str, str, list[Any]]]) -> None:
        super().__init__("; ".join(f"group {sequence}: {reason}" for sequence, reason, _ in failures))
        self.failures = failures


def apply_groups(message: dict[str, Any], replays: ReplayFilter, apply: Callable[[list[Any]], None]) -> None:
    """Apply each group not seen before; collect the ones that fail into one MalformedGroups."""
    failures = []
    for producer, sequence, commands in groups_of(message):
        if not replays.accept(producer, sequence):
            continue
        try:
            apply(commands)
        except MalformedEntry as exc:
            failures.append((sequence, str(exc), commands))
    if failures:
        raise MalformedGroups(failures)


class ReplayFilter:
    """Last applied sequence per producer; the dict is the one committed with the offset."""

    def __init__(self, last_applied: dict[str, str]) -> None:
        self.last_applied = last_applied
        self._parsed = {producer: parse_entry_id(seq) for producer, seq in last_applied.items()}

    def accept(self, producer: str, sequence: str) -> bool:
        try:
            parsed = parse_entry_id(sequence)
        except ValueError:
            raise MalformedEntry(f"not a stream entry id: {sequence!r}") from None
        last = self._parsed.get(producer)
        if last is not None and parsed <= last:
            return False
        self._parsed[producer] = parsed
        self.last_applied[producer] = sequence
        return True
