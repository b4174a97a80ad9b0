"""Waiting briefly for the engine's verdict on one order (response_type RESULT).

Workers PUBLISH the events of each batch on the user's channel
``{prefix}:user:{user_id}`` (exchange/pipeline/user_events.py). We subscribe,
and wait for Redis to confirm it, *before* the place command is written, so an update cannot be published in
between and missed. Updates of other orders of the same user are skipped.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from django.conf import settings

from exchange.pipeline.user_events import parse_announcement

logger = logging.getLogger(__name__)


# The statuses an update may carry; anything else is not an answer we can give.
FINAL_OR_OPEN = frozenset({"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"})


def user_channel(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:user:{user_id}"


class ResultWaiter:
    def __init__(self, client: redis.Redis, user_id: int) -> None:
        self._pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        self._channel = user_channel(user_id)
        self._order_id = ""
        self.fills: list[dict[str, Any]] = []  # the awaited order's fill events, in order

    def subscribe(self) -> None:
        """Returns once Redis has confirmed the subscription."""
        self._pubsub.subscribe(self._channel)
        deadline = time.monotonic() + 1.0
        while (remaining := deadline - time.monotonic()) > 0:
            message = self._pubsub.get_message(timeout=remaining)
            if message is not None and message["type"] == "subscribe":
                return
        raise redis.TimeoutError("no subscription confirmation from Redis")

    def close(self) -> None:
        try:
            self._pubsub.close()
        except redis.RedisError:
            logger.warning("closing the result subscription failed", exc_info=True)

    def wait_for(self, order_id: int, timeout_s: float) -> dict[str, Any] | None:
        """The latest update of the order that arrived within the timeout, or None."""
        latest: dict[str, Any] | None = None
        self._order_id = str(order_id)
        deadline = time.monotonic() + timeout_s
        try:
            while latest is None and (remaining := deadline - time.monotonic()) > 0:
                latest = self._update_of(order_id, self._pubsub.get_message(timeout=remaining))
            # A fill may follow the acceptance at once: take what has already arrived.
            while latest is not None and (message := self._pubsub.get_message(timeout=0.0)) is not None:
                latest = self._update_of(order_id, message) or latest
        except redis.RedisError:
            logger.warning("lost the result subscription of order %s", order_id, exc_info=True)
        return latest

    def _update_of(self, order_id: int, message: dict[str, Any] | None) -> dict[str, Any] | None:
        """The order's last update in one publication (a batch's events of the user)."""
        if message is None or message.get("type") != "message":
            return None
        announced = parse_announcement(message["data"])
        if announced is None:
            return None
        try:
            published = [json.loads(text) for text in announced.events]
        except ValueError:
            return None
        found = None
        for update in published:
            if (
                isinstance(update, dict)
                and update.get("type") == "fill"
                and str(update.get("order_id")) == self._order_id
            ):
                self.fills.append(update)
            if (
                isinstance(update, dict)
                and update.get("type") == "order"
                # Published as a number or, like every id on the wire, as a string.
                and str(update.get("order_id")) == str(order_id)
                and update.get("status") in FINAL_OR_OPEN
            ):
                found = update
        return found
