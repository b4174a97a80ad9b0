"""An order's Redis gate and its place in one script: one round trip for the fast order path.

The gate (exchange.api.ratelimit: revoked key, rate limit, replayed
signature) and the place script (exchange.pipeline.order_entry: claim the
client order id, append the command) each cost a round trip, and on a
virtual machine a round trip costs both ends tens of µs of CPU whatever it
carries (docs/BENCHMARKS.md, *Wake-ups*). Run as one script, the place
runs only if the gate admits, atomically, as when the two followed each
other. Both scripts' texts are reused unchanged as Lua functions.

The gate's keys and the order's live in different hash slots, so this is
for a single Redis; on Redis Cluster the API runs the two apart
(exchange.api.placing.defers_gate).
"""

from __future__ import annotations

import redis

from exchange.api.ratelimit import GATE_SCRIPT, GateCall, enforce
from exchange.pipeline.order_entry import PLACE_ONCE_SCRIPT, OrderEntry, Placed, PlaceRequest
from exchange.pipeline.scripts import registered

# KEYS: the gate's three, then the place's three. ARGV: the gate's four, then the place's four.
# Returns the gate's refusal {verdict, wait_ms}, or {1, 0, place status, entry}.
GATED_PLACE_SCRIPT = f"""
local function gate(KEYS, ARGV)
{GATE_SCRIPT}
end
local function place(KEYS, ARGV)
{PLACE_ONCE_SCRIPT}
end
local verdict = gate({{KEYS[1], KEYS[2], KEYS[3]}}, {{ARGV[1], ARGV[2], ARGV[3], ARGV[4]}})
if verdict[1] ~= 1 then return verdict end
local placed = place({{KEYS[4], KEYS[5], KEYS[6]}}, {{ARGV[5], ARGV[6], ARGV[7], ARGV[8]}})
return {{1, 0, placed[1], placed[2]}}
"""


def gated_place(client: redis.Redis, gate: GateCall, request: PlaceRequest) -> Placed:
    """Admit the request and place its order in one round trip; raises what either refuses with."""
    entry = OrderEntry(client)
    shard, keys, args = entry.place_call(request)
    reply = registered(client, GATED_PLACE_SCRIPT)(keys=[*gate.keys, *keys], args=[*gate.args, *args])
    enforce(gate, int(reply[0]), int(reply[1]))
    return entry.settle_place(shard, keys, reply[2:])
