"""Server frames, serialized once and shared by every subscriber that gets them."""

from __future__ import annotations

import json
from typing import Any

# A position orders the frames of one channel: (depth sequence, 0) on a depth
# channel; on the private channel (ms, seq, index): the user events stream
# entry and the event's place in it (WHOLE_ENTRY for the entry's last event).
Position = tuple[int, ...]
WHOLE_ENTRY = 1 << 31


class Frame:
    """One server message: its JSON text and, built on first use, its bytes on the wire."""

    __slots__ = ("_wire", "position", "resets", "text")

    def __init__(self, text: str, position: Position | None = None, resets: bool = False) -> None:
        self.text = text
        self.position = position
        # A snapshot replaces what the client holds, so one at the position it
        # already has still goes out (a resync); an update there would repeat.
        self.resets = resets
        self._wire: bytes | None = None

    @property
    def cost(self) -> int:
        """What the frame counts against a connection's send budget (characters ~ bytes of JSON)."""
        return len(self.text)

    @property
    def wire(self) -> bytes:
        """The whole WebSocket frame: text, final, unmasked (server to client), uncompressed.

        Built once per frame, so a thousand subscribers cost a thousand socket
        writes of the same bytes, not a thousand encodings and framings.
        """
        if self._wire is None:
            payload = self.text.encode()
            size = len(payload)
            if size < 126:
                header = bytes((0x81, size))
            elif size < 1 << 16:
                header = bytes((0x81, 126)) + size.to_bytes(2, "big")
            else:
                header = bytes((0x81, 127)) + size.to_bytes(8, "big")
            self._wire = header + payload
        return self._wire


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def control(kind: str, request_id: int | str | None = None, **fields: Any) -> Frame:
    """A reply to the client itself: subscribed, error, pong..."""
    body: dict[str, Any] = {"type": kind, **fields}
    if request_id is not None:
        body["id"] = request_id
    return Frame(dumps(body))


def batch_frame(kind: str, channel: str, raws: list[str], position: Position | None = None) -> Frame:
    """Several events of one channel in one frame; each raw JSON text is embedded as the worker wrote it."""
    return Frame(f'{{"type":{dumps(kind)},"channel":{dumps(channel)},"data":[{",".join(raws)}]}}', position)


def event_frame(
    kind: str, channel: str, raw: str, position: Position | None = None, seq: str | None = None
) -> Frame:
    """One event; `seq` (a private stream entry id) is what a client resumes from."""
    seq_field = f',"seq":"{seq}"' if seq is not None else ""
    return Frame(f'{{"type":{dumps(kind)},"channel":{dumps(channel)}{seq_field},"data":{raw}}}', position)


def parse_entry_id(entry_id: str) -> tuple[int, int]:
    """A Redis stream entry id "ms-seq" as a comparable pair; ValueError when it is not one."""
    ms, sep, seq = entry_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit() or len(ms) > 15 or len(seq) > 19:
        raise ValueError(f"not a stream entry id: {entry_id!r}")
    return int(ms), int(seq)


def parse_private_seq(seq: str) -> Position:
    """A private event's `seq`: "ms-seq" (a whole entry) or "ms-seq.n" (up to its event n).

    One user events stream entry holds the events of one worker batch; all
    but the last event of an entry carry their index, so a client that lost
    the connection in the middle of an entry resumes with the next event.
    """
    entry, dot, index = seq.partition(".")
    ms, sequence = parse_entry_id(entry)
    if not dot:
        return ms, sequence, WHOLE_ENTRY
    if not index.isdigit() or len(index) > 6:
        raise ValueError(f"not a private seq: {seq!r}")
    return ms, sequence, int(index)
