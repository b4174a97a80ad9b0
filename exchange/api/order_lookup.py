"""Finding a user's order: persisted in the database, or still only in the stream.

Workers persist an order a few milliseconds after its place command. Until
then the order exists only as that command in the accounts stream, and its
id tells where: the entry id's milliseconds and sequence, and the accounts
shard (exchange.pipeline.ids). Reading that one entry answers
`GET /orders/{id}` with status PENDING_NEW and lets a cancel reach an order
the database has not seen yet, without keeping any index of our own. The
accounts worker keeps a place in its stream until matching has committed
the order (exchange/pipeline/trimming.py), so one of the two always has it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import orjson
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import QuerySet

from exchange.api.decimals import amount_text
from exchange.api.engine_results import user_channel
from exchange.api.errors import NotFound, Unavailable
from exchange.api.redis_clients import api_redis
from exchange.ids import EPOCH_MS
from exchange.models import OPEN_STATUSES, Order
from exchange.pipeline.ids import SEQUENCE_BITS, SHARD_BITS, accepted_ms_of
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import MalformedEntry, decode
from exchange.pipeline.order_entry import OrderEntry
from exchange.pipeline.user_events import events_stream

OPEN_STATES = ("PENDING_NEW", "NEW", "PARTIALLY_FILLED")


@dataclass(frozen=True)
class FoundOrder:
    payload: dict[str, Any]  # the OrderOut fields

    @property
    def order_id(self) -> int:
        return int(self.payload["order_id"])

    @property
    def is_open(self) -> bool:
        return self.payload["status"] in OPEN_STATES


def millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def persisted_payload(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "client_order_id": order.client_order_id,
        "market": order.market.symbol,
        "side": order.side,
        "type": order.type,
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "self_trade_prevention": order.self_trade_prevention,
        "price": amount_text(order.price),
        "quantity": amount_text(order.quantity),
        "quote_quantity": amount_text(order.quote_quantity),
        "executed_quantity": amount_text(order.executed_quantity),
        "executed_quote": amount_text(order.executed_quote),
        "status": order.status,
        "reject_reason": order.reject_reason,
        "created_at": millis(order.created_at),
        "updated_at": millis(order.updated_at),
        "stop_price": amount_text(order.stop_price),
        "triggered_at": None if order.triggered_at is None else millis(order.triggered_at),
        "expire_at": None if order.expire_at is None else millis(order.expire_at),
        "display_quantity": amount_text(order.display_quantity),
    }


def command_payload(order_id: int, command: dict[str, Any], at_ms: int) -> dict[str, Any]:
    """An order as its place command describes it, not yet processed."""
    return {
        "order_id": str(order_id),
        "client_order_id": command["cid"],
        "market": command["m"],
        "side": command["side"],
        "type": command["type"],
        "time_in_force": command["tif"],
        "post_only": bool(command["po"]),
        "self_trade_prevention": command["stp"],
        "price": _command_amount(command.get("px")),
        "quantity": _command_amount(command.get("qty")),
        "quote_quantity": _command_amount(command.get("qq")),
        "executed_quantity": "0",
        "executed_quote": "0",
        "status": "PENDING_NEW",
        "reject_reason": "",
        "created_at": at_ms,
        "updated_at": at_ms,
        "stop_price": _command_amount(command.get("sp")),
        "triggered_at": None,
        "expire_at": command.get("exp"),
        "display_quantity": _command_amount(command.get("dq")),
    }


def _command_amount(text: str | None) -> str | None:
    """A command carries amounts as the trader wrote them ("12000.00"); answer them by the one rule."""
    return None if text is None else amount_text(Decimal(text))


def entry_id_of(order_id: int) -> tuple[str, int]:
    """The accounts stream entry and shard an order id was derived from."""
    shard = order_id & ((1 << SHARD_BITS) - 1)
    sequence = (order_id >> SHARD_BITS) & ((1 << SEQUENCE_BITS) - 1)
    millis_since_epoch = order_id >> (SHARD_BITS + SEQUENCE_BITS)
    return f"{millis_since_epoch + EPOCH_MS}-{sequence}", shard


def _orders(user_id: int) -> QuerySet[Order]:
    return Order.objects.select_related("market").filter(user_id=user_id)


def persisted_order(user_id: int, order_id: int) -> Order | None:
    return _orders(user_id).filter(id=order_id).first()


def persisted_order_by_client_id(user_id: int, client_order_id: str) -> Order | None:
    """The newest order placed with the client order id: an id may name a new order once
    the last one is done and its window passed (docs/adr/0015)."""
    return _orders(user_id).filter(client_order_id=client_order_id).order_by("-id").first()


_NEWEST_BY_CLIENT_ID = (
    f"SELECT id, status FROM {Order._meta.db_table} "  # noqa: S608
    "WHERE user_id = %s AND client_order_id = %s ORDER BY id DESC LIMIT 1"
)


def persisted_order_id(user_id: int, client_order_id: str) -> int | None:
    """The persisted order the client order id still names (open, or placed within the
    window), if any. The id alone, on the (user, client order id) index: runs for every
    order placed with a client order id, where the ORM's query building would cost more
    than the query itself."""
    for attempt in (1, 2):
        try:
            with connection.cursor() as cursor:
                cursor.execute(_NEWEST_BY_CLIENT_ID, [user_id, client_order_id])
                row = cursor.fetchone()
            break
        except (OperationalError, InterfaceError) as exc:
            if attempt == 2 or connection.in_atomic_block:
                raise Unavailable("the database is briefly unavailable; retry", retry_after_s=1) from exc
            # The server dropped the connection since it was last checked: reconnect once.
            connection.close()
    if row is None:
        return None
    order_id, status = int(row[0]), row[1]
    window_ms = settings.CLIENT_ORDER_ID_WINDOW_S * 1000
    if status in OPEN_STATUSES or accepted_ms_of(order_id) > time.time() * 1000 - window_ms:
        return order_id
    return None


def pending_order(user_id: int, order_id: int) -> FoundOrder | None:
    """The user's order from its place command in the stream, if it is still there."""
    if not 0 < order_id < 1 << 63:
        return None
    entry_id, shard = entry_id_of(order_id)
    if shard >= settings.ACCOUNT_SHARDS:
        return None
    try:
        entries = api_redis().xrange(accounts_keys(shard).stream, entry_id, entry_id, count=1)
    except redis.RedisError as exc:
        raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
    if not entries:
        return None
    try:
        command = decode(cast(dict[bytes, bytes], entries[0][1]))
    except MalformedEntry:
        return None
    # Someone else's order looks exactly like no order.
    if command.get("t") != "place" or command.get("uid") != user_id:
        return None
    payload = command_payload(order_id, command, int(entry_id.split("-")[0]))
    update = latest_update(user_id, order_id)
    if update is not None:
        _apply_update(payload, update)
    return FoundOrder(payload)


# How far back a lookup reads the user's private feed for the engine's word on an order
# not yet persisted: entries are batches, and persisting takes milliseconds.
_FEED_LOOKBACK = 50


def latest_update(user_id: int, order_id: int) -> dict[str, Any] | None:
    """The engine's newest update of an order, from the user's private feed, if recent.

    Between the engine's verdict and the worker's commit the database does
    not have the order yet; its feed does. Read so, an order a trader was
    just told is FILLED is not answered NEW a moment later.
    """
    wanted = str(order_id)
    try:
        entries = api_redis().xrevrange(events_stream(user_channel(user_id)), "+", "-", count=_FEED_LOOKBACK)
    except redis.RedisError:
        return None  # the command's own view still answers
    for _, fields in cast(list[tuple[bytes, dict[bytes, bytes]]], entries):
        events = [fields[name] for name in sorted((n for n in fields if n != b"s"), key=int, reverse=True)]
        for raw in events:
            if wanted.encode() not in raw:
                continue
            event = orjson.loads(raw)
            if event.get("type") == "order" and str(event.get("order_id")) == wanted:
                return cast(dict[str, Any], event)
    return None


def _apply_update(payload: dict[str, Any], update: dict[str, Any]) -> None:
    for name in ("price", "quantity", "executed_quantity", "executed_quote"):
        value = update.get(name)
        if value is not None:
            payload[name] = amount_text(Decimal(str(value)))
    if isinstance(update.get("status"), str):
        payload["status"] = update["status"]
    payload["reject_reason"] = str(update.get("reject_reason") or "")
    if isinstance(update.get("ts"), int):
        payload["updated_at"] = update["ts"]


def find_order(user_id: int, order_id: int) -> FoundOrder:
    order = persisted_order(user_id, order_id)
    if order is not None:
        return FoundOrder(persisted_payload(order))
    pending = pending_order(user_id, order_id)
    if pending is not None:
        return pending
    # Persisted, and its entry trimmed, between the two reads above: the stream keeps a
    # place until matching has committed its order (exchange/pipeline/trimming.py).
    order = persisted_order(user_id, order_id)
    if order is not None:
        return FoundOrder(persisted_payload(order))
    raise NotFound("no such order", "ORDER_NOT_FOUND")


def find_order_by_client_id(user_id: int, client_order_id: str) -> FoundOrder:
    """The newest order of the client order id: persisted, or placed since and only in the stream."""
    order = persisted_order_by_client_id(user_id, client_order_id)
    try:
        claimed_id = OrderEntry(api_redis()).known_order_id(user_id, client_order_id)
    except redis.RedisError as exc:
        if order is None:
            raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
        claimed_id = None
    if claimed_id is not None and (order is None or claimed_id > order.id):
        pending = pending_order(user_id, claimed_id)
        if pending is not None:
            return pending
        # Persisted (and the stream trimmed) between the two reads above.
        newer = persisted_order(user_id, claimed_id)
        if newer is not None:
            return FoundOrder(persisted_payload(newer))
    if order is not None:
        return FoundOrder(persisted_payload(order))
    raise NotFound("no such order", "ORDER_NOT_FOUND")
