"""What a stage sends while it processes one input entry, and how receivers drop replays.

Everything one input entry sends to one stream is one message tagged with
(producer, the input entry id). A replay after a crash sends the same
messages with the same tags; the receiver keeps the last tag per producer
(committed with its offset) and drops what it has already applied.
"""

from __future__ import annotations

from typing import Any

from exchange.pipeline.ids import parse_entry_id
from exchange.pipeline.messages import encode


class Outbox:
    def __init__(self, producer: str) -> None:
        self.producer = producer
        self._entry_id = "0-0"
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self.messages: list[tuple[str, dict[str, str]]] = []
        self.publications: list[tuple[str, dict[str, Any]]] = []

    def begin(self, entry_id: str) -> None:
        self._entry_id = entry_id

    def send(self, stream: str, command: dict[str, Any]) -> None:
        self._pending.setdefault(stream, []).append(command)

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.publications.append((channel, payload))

    def end(self) -> None:
        for stream, commands in self._pending.items():
            self.messages.append(
                (stream, encode({"t": "batch", "p": self.producer, "s": self._entry_id, "cmds": commands}))
            )
        self._pending.clear()

    def drain(self) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, dict[str, Any]]]]:
        messages, publications = self.messages, self.publications
        self.messages, self.publications = [], []
        return messages, publications


class ReplayFilter:
    """Last applied sequence per producer; the dict is the one committed with the offset."""

    def __init__(self, last_applied: dict[str, str]) -> None:
        self.last_applied = last_applied
        self._parsed = {producer: parse_entry_id(seq) for producer, seq in last_applied.items()}

    def accept(self, producer: str, sequence: str) -> bool:
        parsed = parse_entry_id(sequence)
        last = self._parsed.get(producer)
        if last is not None and parsed <= last:
            return False
        self._parsed[producer] = parsed
        self.last_applied[producer] = sequence
        return True
