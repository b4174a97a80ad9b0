"""Server frames, serialized once and shared by every subscriber that gets them."""

from __future__ import annotations

import functools
import json
from typing import Any

# A position orders the frames of one channel: (depth sequence, 0) on a depth
# channel, (the event's per-user seq,) on the private channel.
Position = tuple[int, ...]


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


def event_frame(kind: str, channel: str, raw: str, seq: int) -> Frame:
    """One private event; `seq` (the user's event number) is what a client resumes from."""
    return Frame(f'{_event_head(kind, channel)}{seq},"data":{raw}}}', (seq,))


@functools.lru_cache(maxsize=256)
def _event_head(kind: str, channel: str) -> str:
    """The text before an event's seq: a few kinds on one channel, so encoded once each."""
    return f'{{"type":{dumps(kind)},"channel":{dumps(channel)},"seq":'
