"""When daphne first pushed each order on a WebSocket: the last stage of its journey.

Only this process sees the push (exchange/pipeline/journey.py has the other
stages). An order's push is the first update its own place command caused,
known by its ``ts``: the millisecond the order's id carries. A maker's later
fills come with the taker's time and are not its push. Only orders whose
trader has a private subscription in this process are pushed at all.

Each push is observed at once in
``spot_order_stage_seconds{stage="accepted_to_pushed"}`` and its time kept
for the admin in Redis: per user a sorted set, order id -> push time (us),
named with the user's hash tag (`pushed_key`), the first push of an order
kept (ZADD NX, so a second daphne process does not move it), the newest
KEEP of a user and for TTL_S after the last. The pushes of FLUSH_DELAY_S go
to Redis together, in one pipeline: no command per order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import redis

from exchange.pipeline.ids import accepted_ms_of
from exchange.pipeline.journey import ORDER_STAGES, PUSH_STAGE, StageSeconds, now_us

logger = logging.getLogger(__name__)

FLUSH_DELAY_S = 0.25
KEEP = 1_000
TTL_S = 86_400
_RECENT = 100_000  # order ids pushed lately, so a second update of the same millisecond is not a push
_ORDER_EVENT = b'"type":"order"'

ORDER_STAGES.ensure((PUSH_STAGE,))


def pushed_key(prefix: str, user_id: int) -> str:
    return f"{prefix}:{{user:{user_id}}}:pushed"


def pushed_us(client: redis.Redis, prefix: str, user_id: int, order_id: int) -> int | None:
    """When the order was first pushed on a WebSocket (us), if it was and it is still kept."""
    score: Any = client.zscore(pushed_key(prefix, user_id), str(order_id))
    return None if score is None else int(score)


class PushTimes:
    def __init__(
        self,
        client: Any,  # redis.asyncio.Redis
        prefix: str,
        stages: StageSeconds = ORDER_STAGES,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.stages = stages
        self.clock = clock
        self._pending: dict[int, dict[str, int]] = {}  # user -> order id -> pushed us
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._flushing = False

    def pushed(self, user_id: int, events: Iterable[bytes]) -> bool:
        """Note the orders a user's events just pushed; True once for each flush to start."""
        now = 0
        for value in events:
            if _ORDER_EVENT not in value:
                continue
            try:
                event = orjson.loads(value)
                order_id, ts = int(event["order_id"]), event["ts"]
            except (KeyError, TypeError, ValueError):
                continue
            if type(ts) is not int or accepted_ms_of(order_id) != ts or order_id in self._recent:
                continue
            self._remember(order_id)
            now = now or self.clock()
            self.stages.observe(PUSH_STAGE, max(0, now - ts * 1000) / 1e6)
            self._pending.setdefault(user_id, {})[str(order_id)] = now
        if not self._pending or self._flushing:
            return False
        # Taken here, not when the flush's task first runs: the pushes of one read of the
        # pub/sub socket all come before it, and each would start a flush of its own.
        self._flushing = True
        return True

    async def flush_later(self, delay_s: float = FLUSH_DELAY_S) -> None:
        """After a short wait, keep every push noted meanwhile: three commands a user, one round trip.

        Started once `pushed` said so; it clears the way for the next one when done."""
        try:
            await asyncio.sleep(delay_s)
            pending, self._pending = self._pending, {}
            pipe = self.redis.pipeline(transaction=False)
            for user_id, pushes in pending.items():
                key = pushed_key(self.prefix, user_id)
                pipe.zadd(key, pushes, nx=True)
                pipe.zremrangebyrank(key, 0, -KEEP - 1)
                pipe.expire(key, TTL_S)
            await pipe.execute()
        except redis.RedisError as exc:  # observations only: the orders and their updates are not touched
            logger.warning("ws: push times not kept: %s", exc)
        finally:
            self._flushing = False

    def _remember(self, order_id: int) -> None:
        recent = self._recent
        recent[order_id] = None
        if len(recent) > _RECENT:
            # O(1). Deleting a plain dict's first key leaves a hole at its front that every
            # later next(iter(...)) walks over: daphne's CPU an order grew by half within
            # minutes at 1,000 orders/s (docs/BENCHMARKS.md, Soak).
            recent.popitem(last=False)
