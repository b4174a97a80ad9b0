"""Putting commands into the accounts stream: what the API and the admin call.

A command is acknowledged once it is in the stream (and, with
STREAM_DURABILITY, once Redis has made it durable). Placing an order is
idempotent per (user, client order id): a retry gets the original order id
back and enqueues nothing, whether or not the first attempt was processed.
A retry is the same order's parameters again (`order_digest`); the same
client order id with other parameters is refused (ClientOrderIdReused), as
an idempotency key reused for another request is elsewhere.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings

from exchange.amounts import amount_text
from exchange.pipeline.ids import order_id_for
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import encode
from exchange.pipeline.scripts import registered
from exchange.routing import account_shard_for
from spot.redis_connection import is_cluster

# Claim the client order id and enqueue in one step, so two concurrent
# retries cannot both enqueue. The entry id is what the order id derives from;
# the claim holds it and the digest of the order's parameters ("<entry> <digest>"),
# so a reuse with other parameters is refused in the same step. A claim made
# before digests were kept holds the entry alone and answers as a retry.
# A frozen user's new order is refused in the same step (a retry of an order
# placed before the freeze still answers as a retry): the check costs no
# round trip of its own, and no order can slip in between check and append.
# KEYS: the claim, the accounts stream, the shard's set of frozen user ids.
# ARGV: claim lifetime in s, the encoded command, the order's digest, the user id.
# Returns {1, entry} placed, {0, entry} a retry, {2, entry} stream busy,
# {3, entry} the id is the entry's order's, with other parameters, {4, ''} frozen.
PLACE_ONCE_SCRIPT = """
local existing = redis.call('GET', KEYS[1])
if existing then
  local entry, digest = string.match(existing, '^(%S+) (%S+)$')
  if entry == nil then return {0, existing} end
  if digest ~= ARGV[3] then return {3, entry} end
  return {0, entry}
end
if redis.call('SISMEMBER', KEYS[3], ARGV[4]) == 1 then return {4, ''} end
local entry = redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
local sequence = tonumber(string.match(entry, '-(%d+)$'))
if sequence > 4095 then
  redis.call('XDEL', KEYS[2], entry)
  return {2, entry}
end
redis.call('SET', KEYS[1], entry .. ' ' .. ARGV[3], 'EX', tonumber(ARGV[1]))
return {1, entry}
"""

# An amend may raise what an order exposes: refused for a frozen user, in the same step.
# KEYS: the shard's frozen set, the accounts stream. ARGV: user id, the encoded command.
_UNLESS_FROZEN = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return false end
return redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
"""

# A balance change is enqueued once per request id, however often the call
# is retried (redis-py retries a command whose reply was lost) or the
# operator's form is submitted again.
_FUNDS_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
local entry = redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
redis.call('SET', KEYS[1], entry, 'EX', tonumber(ARGV[1]))
return {1, entry}
"""

FUNDS_REQUEST_TTL_S = 24 * 3600


class NotDurable(redis.RedisError):
    """No replica (REPLICA) or disk (AOF) confirmed the command in time; a retry of it is safe."""


class StreamBusy(Exception):
    """The stream took more than 4,095 entries in one millisecond; retry."""


class AccountFrozen(Exception):
    """An operator froze the user's account: new orders are refused; nothing was enqueued."""


class ClientOrderIdReused(Exception):
    """The client order id names an earlier order with other parameters; nothing was enqueued."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"the client order id is order {order_id}'s, placed with other parameters")
        self.order_id = order_id


@dataclass(frozen=True)
class Claim:
    """What a client order id's claim holds: its order, and the digest of its parameters (None if older)."""

    order_id: int
    digest: str | None


def order_digest(
    symbol: str,
    side: str,
    type: str,
    time_in_force: str,
    price: Decimal | None,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    post_only: bool,
    self_trade_prevention: str,
    stop_price: Decimal | None = None,
    expire_at_ms: int | None = None,
    display_quantity: Decimal | None = None,
) -> str:
    """What makes two placements the same order: every parameter, amounts by value ("30000" = "30000.00").

    Not the client order id (the key itself), nor how the answer is wanted
    (response_type), nor anything of the signature. The parameters of stop,
    GTD and iceberg orders count only when given, so other orders' digests
    stay what they were.
    """
    extras: tuple[str, ...] = ()
    if stop_price is not None or expire_at_ms is not None or display_quantity is not None:
        extras = (
            "" if stop_price is None else amount_text(stop_price),
            "" if expire_at_ms is None else str(expire_at_ms),
            "" if display_quantity is None else amount_text(display_quantity),
        )
    canonical = "|".join(
        (
            symbol,
            side,
            type,
            time_in_force,
            "" if price is None else amount_text(price),
            "" if quantity is None else amount_text(quantity),
            "" if quote_quantity is None else amount_text(quote_quantity),
            "1" if post_only else "0",
            self_trade_prevention,
            *extras,
        )
    )
    return hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Placed:
    order_id: int
    entry_id: str
    duplicate: bool


@dataclass(frozen=True)
class Queued:
    entry_id: str
    duplicate: bool


@dataclass(frozen=True)
class PlaceRequest:
    user_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str = "GTC"
    price: Decimal | None = None
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    post_only: bool = False
    self_trade_prevention: str = "CANCEL_NEWEST"
    stop_price: Decimal | None = None  # STOP_LIMIT / STOP_MARKET
    expire_at_ms: int | None = None  # GTD: Unix milliseconds
    display_quantity: Decimal | None = None  # an iceberg's visible size

    def digest(self) -> str:
        return order_digest(
            self.symbol,
            self.side,
            self.type,
            self.time_in_force,
            self.price,
            self.quantity,
            self.quote_quantity,
            self.post_only,
            self.self_trade_prevention,
            self.stop_price,
            self.expire_at_ms,
            self.display_quantity,
        )

    def message(self) -> dict[str, Any]:
        message = {
            "t": "place",
            "uid": self.user_id,
            "cid": self.client_order_id,
            "m": self.symbol,
            "side": self.side,
            "type": self.type,
            "tif": self.time_in_force,
            "px": _text(self.price),
            "qty": _text(self.quantity),
            "qq": _text(self.quote_quantity),
            "po": self.post_only,
            "stp": self.self_trade_prevention,
        }
        # Only when given, so other orders' commands stay as they were.
        if self.stop_price is not None:
            message["sp"] = _text(self.stop_price)
        if self.expire_at_ms is not None:
            message["exp"] = self.expire_at_ms
        if self.display_quantity is not None:
            message["dq"] = _text(self.display_quantity)
        return message


class OrderEntry:
    def __init__(self, client: redis.Redis, prefix: str | None = None) -> None:
        self._redis = client
        self._prefix = prefix or settings.REDIS_KEY_PREFIX
        self._place_once = registered(client, PLACE_ONCE_SCRIPT)
        self._funds_once = registered(client, _FUNDS_ONCE)
        self._unless_frozen = registered(client, _UNLESS_FROZEN)

    def place(self, request: PlaceRequest) -> Placed:
        shard, keys, args = self.place_call(request)
        return self.settle_place(shard, keys, self._place_once(keys=keys, args=args))

    def settle_place(self, shard: int, keys: list[str], reply: list[Any]) -> Placed:
        """The order a place script's reply names, made durable as STREAM_DURABILITY asks; raises refusals."""
        answer = _placed(shard, *reply)
        if isinstance(answer, Exception):
            raise answer
        # A retry waits too: its first attempt may have been answered NotDurable.
        self._make_durable([keys[1]])
        return answer

    def place_many(
        self, requests: list[PlaceRequest]
    ) -> list[Placed | StreamBusy | ClientOrderIdReused | AccountFrozen]:
        """Place several orders in one round trip to Redis, each claimed once as `place` does.

        Each answer is in its request's place: the order, StreamBusy for one
        that the stream could not take in its millisecond (retry it),
        ClientOrderIdReused for a client order id used before with other
        parameters, or AccountFrozen for a user an operator froze.
        """
        calls = [self.place_call(request) for request in requests]
        if is_cluster(self._redis):
            # redis-py's cluster pipeline refuses scripts: one call per order, each to its master.
            replies = [self._place_once(keys=keys, args=args) for _, keys, args in calls]
        else:
            replies = self._place_pipelined(calls)
        answers = [_placed(shard, *reply) for (shard, _, _), reply in zip(calls, replies, strict=True)]
        if any(isinstance(answer, Placed) for answer in answers):
            self._make_durable([keys[1] for _, keys, _ in calls])
        return answers

    def _place_pipelined(self, calls: list[tuple[int, list[str], list[Any]]]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for _, keys, args in calls:
            self._place_once(keys=keys, args=args, client=pipe)
        return pipe.execute()

    def place_command(self, request: PlaceRequest) -> list[Any]:
        """The command `place` sends, for a caller that writes many itself (a load generator).

        It runs the script by its hash: call `load_scripts` once first.
        """
        _, keys, args = self.place_call(request)
        return ["EVALSHA", self._place_once.sha, len(keys), *keys, *args]

    def load_scripts(self) -> None:
        """Load the scripts into Redis (a restarted Redis forgets them; `place` reloads on its own)."""
        for script in (self._place_once, self._funds_once, self._unless_frozen):
            self._redis.script_load(script.script)

    def place_call(self, request: PlaceRequest) -> tuple[int, list[str], list[Any]]:
        """The accounts shard of a place, and the keys and arguments of its claim-and-XADD script."""
        shard = account_shard_for(request.user_id)
        keys = accounts_keys(shard, self._prefix)
        return (
            shard,
            [keys.client_order_id(request.user_id, request.client_order_id), keys.stream, keys.frozen],
            [
                settings.CLIENT_ORDER_ID_WINDOW_S,
                encode(request.message())["d"],
                request.digest(),
                request.user_id,
            ],
        )

    def known_order_id(self, user_id: int, client_order_id: str) -> int | None:
        """The order id of a client order id placed within the window (CLIENT_ORDER_ID_WINDOW_S), if any."""
        claim = self.claim_of(user_id, client_order_id)
        return None if claim is None else claim.order_id

    def claim_of(self, user_id: int, client_order_id: str) -> Claim | None:
        """The claim of a client order id placed within the window (CLIENT_ORDER_ID_WINDOW_S), if any."""
        shard = account_shard_for(user_id)
        value = self._redis.get(accounts_keys(shard, self._prefix).client_order_id(user_id, client_order_id))
        if value is None:
            return None
        entry, _, digest = (value.decode() if isinstance(value, bytes) else str(value)).partition(" ")
        return Claim(order_id_for(entry, shard), digest or None)

    def cancel(self, user_id: int, order_id: int) -> str:
        return self._send(user_id, {"t": "cancel", "uid": user_id, "oid": order_id})

    def cancel_all(self, user_id: int, symbol: str | None) -> str:
        return self._send(user_id, {"t": "cancel_all", "uid": user_id, "m": symbol or ""})

    def cancel_market(self, symbol: str, account_shards: int) -> list[str]:
        """Cancel every order in a market: one command on each accounts stream (its entry ids)."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(account_shards):
            pipe.xadd(accounts_keys(shard, self._prefix).stream, encode({"t": "cancel_market", "m": symbol}))  # type: ignore[arg-type]
        entries = pipe.execute()
        self._make_durable([accounts_keys(shard, self._prefix).stream for shard in range(account_shards)])
        return [entry.decode() if isinstance(entry, bytes) else str(entry) for entry in entries]

    def amend(self, user_id: int, order_id: int, quantity: Decimal | None, price: Decimal | None) -> str:
        """Queue an amend; AccountFrozen (nothing queued) for a frozen user."""
        keys = accounts_keys(account_shard_for(user_id), self._prefix)
        message = {"t": "amend", "uid": user_id, "oid": order_id, "qty": _text(quantity), "px": _text(price)}
        entry = self._unless_frozen(keys=[keys.frozen, keys.stream], args=[user_id, encode(message)["d"]])
        if entry is None:
            raise AccountFrozen()
        self._make_durable([keys.stream])
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    def change_funds(
        self,
        user_id: int,
        asset: str,
        kind: str,
        amount: Decimal,
        reference: str,
        operator_id: int | None,
        request_id: str | None = None,
    ) -> Queued:
        """Queue a deposit, withdrawal or adjustment once per `request_id` (one is made if none is given).

        A second call with the same request id within a day enqueues nothing
        and answers the first call's entry, marked as a duplicate.
        """
        message = {
            "t": "funds",
            "uid": user_id,
            "asset": asset,
            "kind": kind,
            "amount": _text(amount),
            "ref": reference,
            "op": operator_id,
        }
        keys = accounts_keys(account_shard_for(user_id), self._prefix)
        status, entry = self._funds_once(
            keys=[keys.funds_request(request_id or uuid.uuid4().hex), keys.stream],
            args=[FUNDS_REQUEST_TTL_S, encode(message)["d"]],
        )
        self._make_durable([keys.stream])
        return Queued(entry.decode() if isinstance(entry, bytes) else str(entry), duplicate=status == 0)

    def _send(self, user_id: int, message: dict[str, Any]) -> str:
        stream = accounts_keys(account_shard_for(user_id), self._prefix).stream
        entry = self._redis.xadd(stream, encode(message))  # type: ignore[arg-type]
        self._make_durable([stream])
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    def _make_durable(self, streams: list[str]) -> None:
        """Wait until what went to `streams` is as durable as STREAM_DURABILITY says, or raise NotDurable.

        WAIT and WAITAOF cover what this connection wrote before them; on
        Redis Cluster they go to each master the streams live on.
        """
        mode = settings.STREAM_DURABILITY
        if mode == "NONE":
            return
        timeout_ms = settings.STREAM_DURABILITY_TIMEOUT_MS
        command = ("WAIT", 1, timeout_ms) if mode == "REPLICA" else ("WAITAOF", 1, 0, timeout_ms)
        for target in self._durability_targets(streams):
            reply = self._redis.execute_command(*command, **target)  # type: ignore[no-untyped-call]
            confirmed = reply if mode == "REPLICA" else reply[0]
            if int(confirmed) < 1:
                raise NotDurable(f"{command[0]}: not confirmed within {timeout_ms} ms")

    def _durability_targets(self, streams: list[str]) -> list[dict[str, Any]]:
        if not is_cluster(self._redis):
            return [{}]
        cluster: Any = self._redis
        nodes = {
            cluster.get_node_from_key(stream).name: cluster.get_node_from_key(stream) for stream in streams
        }
        return [{"target_nodes": node} for node in nodes.values()]


def _placed(
    shard: int, status: int, entry: bytes | str
) -> Placed | StreamBusy | ClientOrderIdReused | AccountFrozen:
    """What the place script answered: the order (new or a retry), a busy stream, a reused id, a freeze."""
    entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
    if status == 4:
        return AccountFrozen()
    if status == 2:
        return StreamBusy(entry_id)
    if status == 3:
        return ClientOrderIdReused(order_id_for(entry_id, shard))
    return Placed(order_id_for(entry_id, shard), entry_id, duplicate=status == 0)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
