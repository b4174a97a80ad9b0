"""The per-request gate in Redis: revocation, rate limit and replay, one round trip.

Each principal (an API key, or a browser session's user) has a token bucket
of API_RATE_LIMIT_BURST tokens refilled at API_RATE_LIMIT_PER_S. The same
script refuses a revoked key (exchange.api.keys) and a signature it has seen
within the receive window, so a captured request cannot be replayed even
inside the window. The clock is Redis's, the same for every API process.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from exchange.api.errors import RateLimited, Unauthenticated, Unavailable
from exchange.api.redis_clients import api_redis
from exchange.pipeline.scripts import registered

# KEYS: bucket, revoked marker, replay marker (all under one hash tag)
# ARGV: refill per second, burst, cost, replay marker lifetime in ms (0: no replay check)
# Returns {1, 0} admitted, {0, wait_ms} rate limited, {-1, 0} replayed, {-2, 0} revoked.
GATE_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {-2, 0} end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now_ms
end
tokens = math.min(burst, tokens + math.max(0, now_ms - last) * rate / 1000)
if tokens < cost then
  return {0, math.ceil((cost - tokens) * 1000 / rate)}
end
local replay_ms = tonumber(ARGV[4])
if replay_ms > 0 and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', replay_ms) then
  return {-1, 0}
end
redis.call('HSET', KEYS[1], 't', tostring(tokens - cost), 'ts', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {1, 0}
"""


def admit_public(remote_addr: str | None) -> None:
    """Let one request for public market data from this address through, or raise RateLimited.

    Its own bucket per client address, API_PUBLIC_RATE_LIMIT_PER_S / _BURST;
    behind a proxy the address is the one the server was told (daphne's
    --proxy-headers; the proxy's own address otherwise).
    """
    admit(
        f"ip:{remote_addr or 'unknown'}",
        per_s=settings.API_PUBLIC_RATE_LIMIT_PER_S,
        burst=settings.API_PUBLIC_RATE_LIMIT_BURST,
    )


@dataclass(frozen=True)
class GateCall:
    """One request's gate: the script's keys and arguments, and the rate it enforces (for the message)."""

    keys: tuple[str, ...]
    args: tuple[Any, ...]
    per_s: float


def gate_call(
    tag: str,
    signature: str | None = None,
    cost: int = 1,
    per_s: float | None = None,
    burst: int | None = None,
) -> GateCall:
    """The gate of one request of `tag` ("k:<key id>", "u:<user id>", "ip:<address>"), not yet run."""
    per_s = settings.API_RATE_LIMIT_PER_S if per_s is None else per_s
    burst = settings.API_RATE_LIMIT_BURST if burst is None else burst
    base = f"{settings.REDIS_KEY_PREFIX}:{{{tag}}}"
    replay_ms = 0
    replay_key = f"{base}:bucket"
    if signature is not None:
        # Markers live as long as a timestamp can be accepted: the window on both sides.
        replay_ms = 2 * settings.API_RECV_WINDOW_MS
        replay_key = f"{base}:sig:{hashlib.blake2b(signature.encode(), digest_size=16).hexdigest()}"
    return GateCall((f"{base}:bucket", f"{base}:revoked", replay_key), (per_s, burst, cost, replay_ms), per_s)


def admit(
    tag: str,
    signature: str | None = None,
    cost: int = 1,
    per_s: float | None = None,
    burst: int | None = None,
) -> None:
    """Let one request of `tag` through, or raise."""
    run_gate(gate_call(tag, signature, cost, per_s, burst))


def run_gate(call: GateCall) -> None:
    """Run a gate on its own round trip: let the request through, or raise."""
    client = api_redis()
    try:
        verdict, wait_ms = registered(client, GATE_SCRIPT)(keys=list(call.keys), args=list(call.args))
    except redis.RedisError as exc:
        raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
    enforce(call, int(verdict), int(wait_ms))


def enforce(call: GateCall, verdict: int, wait_ms: int) -> None:
    """Raise what the gate's verdict says (nothing when admitted)."""
    if verdict == 1:
        return
    if verdict == 0:
        raise RateLimited(
            f"more than {call.per_s:g} requests per second",
            retry_after_s=max(1, math.ceil(wait_ms / 1000)),
        )
    if verdict == -1:
        raise Unauthenticated("this signature was already used; sign each request anew", "REPLAYED")
    raise Unauthenticated("the API key is revoked", "KEY_REVOKED")
