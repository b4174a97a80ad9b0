"""The lease that makes one worker of a shard its leader.

A Redis key with a TTL, renewed by the holder. Each acquisition takes a new
epoch, never below the one already in the database, so the epoch check at
commit fences out a leader that stalled past its TTL.

A holder that stalled past its TTL takes its lease back if nobody took it
meanwhile: every acquisition raises the epoch key, so an unchanged epoch
proves that no other worker has led since. A slow start (a loaded machine,
a long pause of the process) then costs nothing instead of a reload.

A worker waiting for the lease says so in the shard's `standbys` sorted set
(identity -> when it last tried, Unix ms), so operators can see who would
take over (exchange.services.shards).
"""

from __future__ import annotations

import time

import redis

from exchange.pipeline.keys import ShardKeys

_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return epoch
"""

# KEYS: lease, epoch. ARGV: holder, TTL in ms, the holder's epoch.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
if not holder and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# A standby not heard from for this long is forgotten: it stopped, or became a leader elsewhere.
STANDBY_FORGET_MS = 60_000


class Lease:
    def __init__(self, client: redis.Redis, keys: ShardKeys, holder: str, ttl_ms: int) -> None:
        self.client = client
        self.keys = keys
        self.holder = holder
        self.ttl_ms = ttl_ms
        self.epoch = 0
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def try_acquire(self, epoch_floor: int) -> bool:
        epoch = int(
            self._acquire(
                keys=[self.keys.lease, self.keys.epoch], args=[self.holder, self.ttl_ms, epoch_floor]
            )
        )
        if epoch:
            self.epoch = epoch
        return bool(epoch)

    def renew(self) -> bool:
        """Extend the lease, or take it back if it expired and nobody has led since."""
        return bool(
            self._renew(keys=[self.keys.lease, self.keys.epoch], args=[self.holder, self.ttl_ms, self.epoch])
        )

    def release(self) -> None:
        self._release(keys=[self.keys.lease], args=[self.holder])

    def stand_by(self) -> None:
        """Say that this worker waits for the lease (called at each failed attempt)."""
        now_ms = int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.keys.standbys, {self.holder: now_ms})
        pipe.zremrangebyscore(self.keys.standbys, "-inf", now_ms - STANDBY_FORGET_MS)
        pipe.pexpire(self.keys.standbys, STANDBY_FORGET_MS)
        pipe.execute()

    def leave_standbys(self) -> None:
        self.client.zrem(self.keys.standbys, self.holder)
