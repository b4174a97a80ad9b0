"""What a client may send, checked before anything acts on it.

Client frames are JSON objects with an "op":

    {"op": "subscribe", "channels": ["trades:BTC/USDT", "depth:BTC/USDT"], "id": 1}
    {"op": "subscribe", "channels": ["private"], "since": 42}
    {"op": "unsubscribe", "channels": ["depth:BTC/USDT"]}
    {"op": "auth", "key": "sk_...", "timestamp": "1764000000000", "signature": "base64..."}
    {"op": "ping"}

"id" is optional and echoed in the reply. A frame that breaks these rules
gets an error frame; the connection stays.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PUBLIC_KINDS = ("trades", "depth", "ticker")
PRIVATE = "private"
OPS = ("subscribe", "unsubscribe", "auth", "ping")
_SYMBOL = re.compile(r"^[A-Z0-9]{2,16}/[A-Z0-9]{2,16}$")
_MAX_CHANNELS_PER_FRAME = 50


class ProtocolError(Exception):
    """A client frame the server refuses; answered with an error frame of this code."""

    def __init__(self, code: str, message: str, request_id: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str  # trades, depth, ticker or private
    symbol: str | None = None


@dataclass(frozen=True)
class Request:
    op: str
    request_id: int | str | None = None
    channels: tuple[Channel, ...] = ()
    since: int | None = None
    auth: dict[str, str] | None = None


def parse_channel(name: Any, request_id: int | str | None = None) -> Channel:
    if name == PRIVATE:
        return Channel(PRIVATE, PRIVATE)
    if isinstance(name, str):
        kind, _, symbol = name.partition(":")
        if kind in PUBLIC_KINDS and _SYMBOL.match(symbol):
            return Channel(name, kind, symbol)
    raise ProtocolError(
        "BAD_CHANNEL",
        f"unknown channel {str(name)[:60]!r}; use trades:SYMBOL, depth:SYMBOL, ticker:SYMBOL or private",
        request_id,
    )


def parse_request(text: str | None, max_chars: int) -> Request:
    if text is None:
        raise ProtocolError("BAD_FRAME", "send text frames of JSON; binary frames are not understood")
    if len(text) > max_chars:
        raise ProtocolError("FRAME_TOO_LARGE", f"a client frame may be at most {max_chars} characters")
    try:
        body = json.loads(text)
    except ValueError:
        raise ProtocolError("BAD_FRAME", "the frame is not valid JSON") from None
    if not isinstance(body, dict):
        raise ProtocolError("BAD_FRAME", "the frame must be a JSON object with an 'op'")
    request_id = body.get("id")
    if request_id is not None and not _valid_id(request_id):
        raise ProtocolError("BAD_FRAME", "'id' must be an integer or a string of at most 64 characters")
    op = body.get("op")
    if op not in OPS:
        raise ProtocolError("UNKNOWN_OP", f"'op' must be one of {', '.join(OPS)}", request_id)
    if op in ("subscribe", "unsubscribe"):
        return _subscription(op, body, request_id)
    if op == "auth":
        fields = {name: body.get(name) for name in ("key", "timestamp", "signature")}
        if not all(isinstance(value, str) and 0 < len(value) <= 200 for value in fields.values()):
            raise ProtocolError(
                "BAD_FRAME", "auth needs 'key', 'timestamp' and 'signature' as strings", request_id
            )
        return Request(op, request_id, auth={k: str(v) for k, v in fields.items()})
    return Request(op, request_id)


def _subscription(op: str, body: dict[str, Any], request_id: int | str | None) -> Request:
    names = body.get("channels")
    if not isinstance(names, list) or not names or len(names) > _MAX_CHANNELS_PER_FRAME:
        raise ProtocolError(
            "BAD_FRAME", f"'channels' must be a list of 1 to {_MAX_CHANNELS_PER_FRAME} names", request_id
        )
    channels = tuple(dict.fromkeys(parse_channel(name, request_id) for name in names))
    since = body.get("since")
    if since is not None:
        if op != "subscribe" or not any(channel.kind == PRIVATE for channel in channels):
            raise ProtocolError("BAD_FRAME", "'since' applies to subscribing to private", request_id)
        # The number, or its digits in a string (a client that keeps every number as text).
        if isinstance(since, str) and since.isdigit() and len(since) <= 19:
            since = int(since)
        if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since < 2**63:
            raise ProtocolError(
                "BAD_SINCE", "'since' must be the seq of a private event: an integer such as 42", request_id
            )
    return Request(op, request_id, channels, since)


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**53) <= value <= 2**53
    return isinstance(value, str) and len(value) <= 64
