"""The worker loop's own Redis connection: commands written at once, every reply read.

The loop makes one round trip per batch (its outputs and the next read).
Through redis-py's pipeline that round trip cost about 90 us of CPU, half
of it the client's layers (command stack, retries, events, reply
callbacks); written and read here on one connection it costs about 45 us
(measured: XADD, PUBLISH and XREADGROUP in one trip, 5,000 times). The
commands are packed by hiredis in C: 2.8 us for a typical trip of four
instead of 10 through redis-py's packer.

Nothing is retried here: a failure is the caller's to handle (the worker
reads its pending entries again, see worker.py). After any failure the
socket is closed, since replies may still be in flight on it. The one
exception: a script called by its SHA1 (EVALSHA, registered with
`script_sha`) that Redis no longer has (a restart empties its script cache)
is called again with its text, which loads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import hiredis
import redis

Command = Sequence[Any]
Entry = tuple[bytes, dict[bytes, bytes]]

_SCRIPTS: dict[str, str] = {}  # SHA1 -> the script's text


def script_sha(text: str) -> str:
    """The SHA1 an EVALSHA of this script names; the Wire can then reload it."""
    sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()  # Redis names scripts so
    _SCRIPTS[sha] = text
    return sha


class Wire:
    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._connection: Any = None  # a redis.connection.Connection, untyped upstream

    def round_trip(self, commands: list[Command]) -> list[Any]:
        """The replies, in order; an error reply is returned as its ResponseError, not raised."""
        replies = self._exchange(commands)
        unloaded = [
            index
            for index, reply in enumerate(replies)
            if isinstance(reply, redis.exceptions.NoScriptError) and commands[index][1] in _SCRIPTS
        ]
        if unloaded:
            again = self._exchange(
                [("EVAL", _SCRIPTS[commands[index][1]], *commands[index][2:]) for index in unloaded]
            )
            for index, reply in zip(unloaded, again, strict=True):
                replies[index] = reply
        return replies

    def _exchange(self, commands: list[Command]) -> list[Any]:
        if self._connection is None:
            self._connection = self._pool.get_connection()
        connection = self._connection
        try:
            # hiredis packs a command in C; redis-py's packer checks every argument in Python first.
            connection.send_packed_command(
                [b"".join([hiredis.pack_command(tuple(command)) for command in commands])]
            )
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            connection.disconnect()
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
            self._pool.release(self._connection)
            self._connection = None


def first_error(replies: list[Any]) -> Exception | None:
    """The first error reply of a round trip, if any."""
    return next((reply for reply in replies if isinstance(reply, Exception)), None)


def xadd(stream: str, fields: dict[str, Any], maxlen: int | None = None) -> Command:
    trim = ("MAXLEN", "~", maxlen) if maxlen is not None else ()
    flat = [item for pair in fields.items() for item in pair]
    return ("XADD", stream, *trim, "*", *flat)


def xreadgroup(
    group: str, consumer: str, stream: str, after: str, count: int, block_ms: int | None
) -> Command:
    block = ("BLOCK", block_ms) if block_ms is not None else ()
    return ("XREADGROUP", "GROUP", group, consumer, "COUNT", count, *block, "STREAMS", stream, after)


def read_entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply on one stream (None when a block timed out).

    RESP3 answers with a map of stream to entries, RESP2 with a list of
    [stream, entries] pairs. A pending entry trimmed from the stream comes
    back with no fields; it reads as an empty entry, which the stages
    refuse as malformed.
    """
    if not reply:
        return []
    entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
    return [(entry_id, _fields(values)) for entry_id, values in entries]


def _fields(values: list[bytes] | None) -> dict[bytes, bytes]:
    if not values:
        return {}
    return dict(zip(values[::2], values[1::2], strict=True))
