"""The last stage of an order's journey: daphne's first push of it, observed and kept for the admin."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import redis
import redis.asyncio
from django.conf import settings
from django.contrib.auth.models import User

from exchange.pipeline.ids import accepted_ms_of, order_id_for
from exchange.pipeline.journey import ORDER_STAGES, PUSH_STAGE
from exchange.realtime import push_times
from exchange.realtime.push_times import pushed_key, pushed_us
from exchange.services.api_keys import IssuedKey
from tests.realtime.support import EventSource, auth_frame, connect, receive, request, run


def test_an_orders_first_push_is_observed_and_kept(
    alice: User, alice_key: IssuedKey, events: EventSource, redis_conn: redis.Redis
) -> None:
    accepted_ms = int(time.time() * 1000) - 3
    placed = order_id_for(f"{accepted_ms}-0", 0)
    maker = order_id_for(f"{accepted_ms - 60_000}-0", 0)
    later = order_id_for(f"{accepted_ms + 1}-0", 0)
    pushes = ORDER_STAGES.count(PUSH_STAGE)

    async def body() -> None:
        ws = await connect()
        await request(ws, auth_frame(alice_key))
        await request(ws, {"op": "subscribe", "channels": ["private"]})
        events.order(alice.pk, placed, "NEW", ts=accepted_ms)
        events.order(alice.pk, placed, "PARTIALLY_FILLED", ts=accepted_ms)  # the same command's: not again
        events.order(alice.pk, maker, "FILLED", ts=accepted_ms)  # a maker's fill: not its push
        for _ in range(3):
            await receive(ws)
        # Once the feed has caught up, the next entry goes out as it is published, not read back.
        events.order(alice.pk, later, "NEW", ts=accepted_ms + 1)
        await receive(ws)
        for _ in range(200):  # kept within FLUSH_DELAY_S; waited for without a deadline of its own
            if redis_conn.zcard(pushed_key(settings.REDIS_KEY_PREFIX, alice.pk)) == 2:
                break
            await asyncio.sleep(0.05)
        await ws.disconnect()

    run(body)

    pushed = pushed_us(redis_conn, settings.REDIS_KEY_PREFIX, alice.pk, placed)
    assert pushed is not None and pushed >= accepted_ms * 1000
    assert pushed_us(redis_conn, settings.REDIS_KEY_PREFIX, alice.pk, maker) is None
    assert pushed_us(redis_conn, settings.REDIS_KEY_PREFIX, alice.pk, later) is not None
    assert ORDER_STAGES.count(PUSH_STAGE) == pushes + 2
    assert 0 < redis_conn.ttl(pushed_key(settings.REDIS_KEY_PREFIX, alice.pk)) <= 86_400


def _order_event(order_id: int) -> bytes:
    return orjson.dumps({"type": "order", "order_id": str(order_id), "ts": accepted_ms_of(order_id)})


def test_the_window_of_recent_pushes_keeps_the_newest_and_forgets_the_oldest(monkeypatch: Any) -> None:
    monkeypatch.setattr(push_times, "_RECENT", 3)
    times = push_times.PushTimes(client=None, prefix="t", clock=lambda: 1)
    base_ms = int(time.time() * 1000)
    ids = [order_id_for(f"{base_ms + i}-0", 0) for i in range(5)]
    pushes = ORDER_STAGES.count(PUSH_STAGE)

    for order_id in ids:  # five first pushes; only the newest three stay in the window
        times.pushed(7, [_order_event(order_id)])
    times.pushed(7, [_order_event(ids[4])])  # still in the window: not a push again
    assert ORDER_STAGES.count(PUSH_STAGE) == pushes + 5
    times.pushed(7, [_order_event(ids[0])])  # forgotten: counted as a push again
    assert ORDER_STAGES.count(PUSH_STAGE) == pushes + 6
    assert list(times._recent) == [ids[3], ids[4], ids[0]]


def test_one_flush_at_a_time_however_many_pushes_come_before_it_runs(redis_conn: redis.Redis) -> None:
    """Pushes of one read of the pub/sub socket come before the flush's task first runs."""
    base_ms = int(time.time() * 1000)
    ids = [order_id_for(f"{base_ms + i}-0", 0) for i in range(5)]

    async def body() -> list[bool]:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        times = push_times.PushTimes(client=client, prefix=settings.REDIS_KEY_PREFIX, clock=lambda: 1)
        starts = [times.pushed(user_id, [_order_event(order_id)]) for user_id, order_id in enumerate(ids[:4])]
        await times.flush_later(0)
        starts.append(times.pushed(9, [_order_event(ids[4])]))  # the next push after it: a new flush
        await client.aclose()
        return starts

    assert asyncio.run(body()) == [True, False, False, False, True]
    kept = [redis_conn.zcard(pushed_key(settings.REDIS_KEY_PREFIX, user_id)) for user_id in range(4)]
    assert kept == [1] * 4
