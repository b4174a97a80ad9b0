"""The one way events reach a trader's private feed: appended with their per-user sequence.

Every event for a user (order, fill, balance, ..._rejected) gets `seq`, one
more than the user's previous event, whichever worker wrote it: the
accounts worker and each matching worker write to the same user's stream.
A client sees the numbers grow by one and knows by itself when it missed
something. The number is assigned where the event is appended, atomically,
by a script: INCRBY of the user's counter, then XADD of the batch's events
as one entry, one event per field ("0", "1", ...) and the first event's
seq in field "s" (event n of an entry has seq s + n), then PUBLISH of the
same entry on the user's channel, which wakes the WebSocket readers and
whoever waits for an order's result. Inside the script, the publish can
never precede the entry it announces.

The announcement carries the entry whole: its first seq, its id and its
events' JSON texts, one per line (compact JSON has no raw newline). A
reader that has delivered everything up to seq s - 1 takes the events
from it as they are, without reading the stream; one that is behind (a
wake-up lost, or merged) reads the stream from its last entry.

The script costs Redis about 5 us a call (EVALSHA) where the XADD alone
cost 2 us; EVAL, with the script's text each time, cost 10 us.

The counter's key, `{<stream key>}:seq`, has the stream's whole name as its
hash tag, so it lives in the stream's Redis Cluster slot (a key without a
tag is hashed on its whole name) and the script touches one slot.
"""

from __future__ import annotations

from typing import NamedTuple

from exchange.pipeline.wire import Command, script_sha

# Lua's unpack takes at most ~8,000 values: a user's events go in entries of at most this many.
MAX_EVENTS_PER_ENTRY = 1000

# KEYS: the events stream, its counter. ARGV: MAXLEN, the pub/sub channel, then each
# event's JSON text in order.
APPEND_SCRIPT = """
local count = #ARGV - 2
local last = redis.call('INCRBY', KEYS[2], count)
local first = last - count + 1
local fields = {'s', first}
for i = 1, count do
  fields[2 * i + 1] = tostring(i - 1)
  fields[2 * i + 2] = ARGV[i + 2]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
local events = table.concat(ARGV, '\\n', 3)
redis.call('PUBLISH', ARGV[2], string.format('%d', first) .. '\\n' .. id .. '\\n' .. events)
return last
"""
APPEND_SHA = script_sha(APPEND_SCRIPT)


class Announcement(NamedTuple):
    """One appended entry as published: its first event's seq, its id, and the events' JSON texts."""

    first_seq: int
    entry_id: str
    events: list[bytes]

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.events) - 1


def parse_announcement(data: bytes) -> Announcement | None:
    """An announcement from a publication's data; None if it is not one."""
    first, _, rest = data.partition(b"\n")
    entry_id, _, events = rest.partition(b"\n")
    if not first.isdigit() or not entry_id or not events:
        return None
    return Announcement(int(first), entry_id.decode(), events.split(b"\n"))


def events_stream(channel: str) -> str:
    """A user's events stream, from the user's pub/sub channel `{prefix}:user:{id}`."""
    return f"{channel}:events"


def seq_counter(stream: str) -> str:
    return f"{{{stream}}}:seq"


def append_commands(channel: str, events: list[bytes], maxlen: int) -> list[Command]:
    """The commands (for a Wire, which reloads the script) that append and announce a user's events."""
    stream = events_stream(channel)
    counter = seq_counter(stream)
    commands: list[Command] = []
    for start in range(0, len(events), MAX_EVENTS_PER_ENTRY):
        chunk = events[start : start + MAX_EVENTS_PER_ENTRY]
        commands.append(("EVALSHA", APPEND_SHA, 2, stream, counter, maxlen, channel, *chunk))
    return commands
