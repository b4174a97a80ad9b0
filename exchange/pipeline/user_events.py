"""The one way events reach a trader's private feed: appended with their per-user sequence.

Every event for a user (order, fill, balance, ..._rejected) gets `seq`, one
more than the user's previous event, whichever worker wrote it: the
accounts worker and each matching worker write to the same user's stream.
A client sees the numbers grow by one and knows by itself when it missed
something. The number is assigned where the event is appended, atomically,
by a script: INCRBY of the user's counter, then XADD of the batch's events
as one entry, one event per field ("0", "1", ...) and the first event's
seq in field "s" (event n of an entry has seq s + n), then PUBLISH of them
as a JSON array on the user's channel, which wakes the WebSocket readers
and whoever waits for an order's result. Inside the script, the publish
can never precede the entry it announces.

The script costs Redis about 5 us a call (EVALSHA) where the XADD alone
cost 2 us; EVAL, with the script's text each time, cost 10 us.

The counter's key, `{<stream key>}:seq`, has the stream's whole name as its
hash tag, so it lives in the stream's Redis Cluster slot (a key without a
tag is hashed on its whole name) and the script touches one slot.
"""

from __future__ import annotations

from exchange.pipeline.wire import Command, script_sha

# Lua's unpack takes at most ~8,000 values: a user's events go in entries of at most this many.
MAX_EVENTS_PER_ENTRY = 1000

# KEYS: the events stream, its counter. ARGV: MAXLEN, the pub/sub channel, the events as
# one JSON array (published), then each event's JSON text in order.
APPEND_SCRIPT = """
local count = #ARGV - 3
local last = redis.call('INCRBY', KEYS[2], count)
local fields = {'s', last - count + 1}
for i = 1, count do
  fields[2 * i + 1] = tostring(i - 1)
  fields[2 * i + 2] = ARGV[i + 3]
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
redis.call('PUBLISH', ARGV[2], ARGV[3])
return last
"""
APPEND_SHA = script_sha(APPEND_SCRIPT)


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
        announcement = b"[" + b",".join(chunk) + b"]"
        commands.append(("EVALSHA", APPEND_SHA, 2, stream, counter, maxlen, channel, announcement, *chunk))
    return commands
