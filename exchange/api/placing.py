"""Placing an order: the one flow behind both the ninja view and the fast WSGI path.

Validation reads no database row (market rules are cached), so the work per
order is the body parse, the checks, and one Redis script that claims the
client order id and appends the command (exchange.pipeline.order_entry).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import pydantic
import redis
from django.conf import settings

from exchange.api.auth import Principal
from exchange.api.decimals import amount_text, parse_amount
from exchange.api.engine_results import ResultWaiter
from exchange.api.errors import ApiError, BadRequest, Conflict, Forbidden, Unavailable, from_validation_errors
from exchange.api.funds import check_funds
from exchange.api.gated_place import gated_place
from exchange.api.market_rules import market_rules
from exchange.api.metrics import CLIENT_ID_LOOKUPS, PLACE_CALL
from exchange.api.order_lookup import (
    command_payload,
    pending_order,
    persisted_order,
    persisted_order_id,
    persisted_payload,
)
from exchange.api.order_schemas import PlaceOrderIn
from exchange.api.ratelimit import GateCall, run_gate
from exchange.api.redis_clients import api_redis, claims_watch
from exchange.api.rule_messages import refusal
from exchange.models import Order
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.order_entry import (
    AccountFrozen,
    ClientOrderIdReused,
    OrderEntry,
    Placed,
    PlaceRequest,
    StreamBusy,
    order_digest,
)
from exchange.pipeline.validation import extras_problem, place_problem
from spot.redis_connection import is_cluster

Body = TypeVar("Body", bound=pydantic.BaseModel)

# Amounts are stored with 18 integer digits; a larger notional could not be persisted.
MAX_NOTIONAL = Decimal(10) ** 18


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, Any]
    # The order's fill events that arrived with the engine's verdict (response_type RESULT).
    fills: tuple[dict[str, Any], ...] = ()


def parse_body(model: type[Body], body: bytes) -> Body:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON", "MALFORMED_JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", "MALFORMED_JSON")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_validation_errors(exc.errors(include_url=False)) from None


def optional_amount(text: str | None) -> Decimal | None:
    return None if text is None else parse_amount(text)


def place_order(principal: Principal, body: bytes) -> Answer:
    try:
        order = parse_body(PlaceOrderIn, body)
    except ApiError:
        _gate_alone(principal)
        raise
    return place_parsed(principal, order)


def defers_gate() -> bool:
    """Whether the fast path may leave the Redis gate to the order's place script (exchange.api.gated_place).

    Not on Redis Cluster (the gate's keys and the order's are in different
    slots), and not with API_FUNDS_PRECHECK (a database read that the gate
    should refuse a rate-limited client before).
    """
    return not settings.API_FUNDS_PRECHECK and not is_cluster(api_redis())


def _gate_alone(principal: Principal) -> None:
    """A deferred gate run alone: what it refuses (rate, replay, revoked key) answers first, as before."""
    if principal.gate is not None:
        run_gate(principal.gate)


def place_parsed(principal: Principal, order: PlaceOrderIn) -> Answer:
    """The one order flow, for an order already read (from /api/v1's JSON or /api/v3's parameters)."""
    try:
        request = _checked_request(principal.user_id, order)
    except ApiError:
        _gate_alone(principal)
        raise
    client = api_redis()
    gate = principal.gate
    if gate is not None and order.client_order_id is not None and claims_watch().will_connect():
        # A (re)connect asks the server whether it lost claims: let the gate make it,
        # so the decision below is the new server's, as when the gate is not deferred.
        _gate_alone(principal)
        gate = None
    looked_up = order.client_order_id is not None and _claims_may_be_lost()
    if gate is not None and (looked_up or order.response_type == "RESULT"):
        _gate_alone(principal)  # before the database lookup or the wait, as when not deferred
        gate = None
    if looked_up:
        # A retry whose Redis claim was lost with Redis's last second would be
        # placed anew and rejected by the accounts stage as
        # DUPLICATE_CLIENT_ORDER_ID; answer with the first attempt's order
        # instead, which the database has if a worker persisted it.
        existing = _persisted_by_client_id(request)
        if existing is not None:
            return _persisted_original(client, request, existing)
    if order.response_type == "RESULT":
        return _place_and_wait(client, principal.user_id, request, looked_up)
    # With the gate deferred, the decision not to look up came before the one round trip;
    # if that reconnected, _original_lost_meanwhile looks up after it (ADR 0016).
    placed = _place(client, request, gate)
    original = None if looked_up else _original_lost_meanwhile(client, request, placed)
    return original or _acknowledged(principal.user_id, request, placed)


def _claims_may_be_lost() -> bool:
    """Whether to look a client order id up in the database: only while Redis may have lost claims."""
    if not settings.API_CLIENT_ID_DB_CHECK:
        return False
    try:
        return claims_watch().may_have_lost_claims()
    except redis.RedisError as exc:
        raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc


def _persisted_by_client_id(request: PlaceRequest) -> Order | None:
    CLIENT_ID_LOOKUPS.inc()
    existing_id = persisted_order_id(request.user_id, request.client_order_id)
    return None if existing_id is None else persisted_order(request.user_id, existing_id)


def _original_lost_meanwhile(client: redis.Redis, request: PlaceRequest, placed: Placed) -> Answer | None:
    """The persisted original of a new claim made on a connection that reconnected during the call.

    The decision not to look the id up was taken before the place script ran;
    if its connection reconnected meanwhile, the server may be a new one that
    lost the claim. The command is in the stream by now, and the accounts
    stage will refuse it as a duplicate: answer with the original.
    """
    if placed.duplicate or not claims_watch().reconnected_since_asked() or not _claims_may_be_lost():
        return None
    existing = _persisted_by_client_id(request)
    if existing is None or existing.id == placed.order_id:
        return None
    return _persisted_original(client, request, existing)


def _persisted_original(client: redis.Redis, request: PlaceRequest, existing: Order) -> Answer:
    """The persisted order of the request's client order id, if the request is a retry of it; else 409.

    The claim decides while Redis has it: it holds what was placed, and an
    amend has changed the row's price or quantity since. Without the claim
    the row is all there is.
    """
    try:
        claim = OrderEntry(client).claim_of(request.user_id, request.client_order_id)
    except redis.RedisError as exc:
        raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
    if claim is not None and claim.order_id == existing.id and claim.digest is not None:
        placed_digest = claim.digest
    else:
        placed_digest = persisted_digest(existing)
    if placed_digest != request.digest():
        raise _reused(request, existing.id)
    return Answer(200, {**persisted_payload(existing), "duplicate": True})


def persisted_digest(order: Order) -> str:
    """The digest of a persisted order's parameters, as its place command's (order_digest)."""
    return order_digest(
        order.market.symbol,
        order.side,
        order.type,
        order.time_in_force,
        order.price,
        order.quantity,
        order.quote_quantity,
        order.post_only,
        order.self_trade_prevention,
        order.stop_price,
        None if order.expire_at is None else round(order.expire_at.timestamp() * 1000),
        order.display_quantity,
    )


def _reused(request: PlaceRequest, order_id: int) -> Conflict:
    return Conflict(
        f"client_order_id {request.client_order_id!r} is order {order_id}, placed with other parameters; "
        "retry with the same body, or place a new order with a new client_order_id",
        "DUPLICATE_CLIENT_ORDER_ID",
    )


def check_order(principal: Principal, order: PlaceOrderIn) -> None:
    """Every check placing makes, without placing (Binance's POST /order/test)."""
    _checked_request(principal.user_id, order)


def _checked_request(user_id: int, order: PlaceOrderIn) -> PlaceRequest:
    price = optional_amount(order.price)
    quantity = optional_amount(order.quantity)
    quote_quantity = optional_amount(order.quote_quantity)
    rules = market_rules.get(order.market)
    problem = place_problem(
        rules,
        order.side,
        order.type,
        order.time_in_force,
        price,
        quantity,
        quote_quantity,
        order.post_only,
        order.self_trade_prevention,
    ) or _further_problem(rules, price, quantity, quote_quantity)
    stop_price = optional_amount(order.stop_price)
    display_quantity = optional_amount(order.display_quantity)
    if problem is None and rules is not None:
        problem = extras_problem(
            rules,
            order.side,
            order.type,
            order.time_in_force,
            quantity,
            quote_quantity,
            stop_price,
            order.expire_at,
            display_quantity,
        )
    if problem is None and order.expire_at is not None and order.expire_at <= time.time_ns() // 1_000_000:
        problem = "EXPIRE_TIME_PASSED"
    if problem is not None:
        raise refusal(problem, rules)
    assert rules is not None  # place_problem refuses an unknown market
    request = PlaceRequest(
        user_id=user_id,
        client_order_id=order.client_order_id or uuid.uuid4().hex,
        symbol=order.market,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        price=price,
        quantity=quantity,
        quote_quantity=quote_quantity,
        post_only=order.post_only,
        self_trade_prevention=order.self_trade_prevention,
        stop_price=stop_price,
        expire_at_ms=order.expire_at,
        display_quantity=display_quantity,
    )
    if settings.API_FUNDS_PRECHECK:
        check_funds(request, rules)
    return request


def _further_problem(
    rules: MarketRules | None, price: Decimal | None, quantity: Decimal | None, quote_quantity: Decimal | None
) -> str | None:
    """What the pipeline's rules leave to the edge: sizes that cannot be stored or settled."""
    if rules is None:
        return None
    if quote_quantity is not None and quote_quantity < rules.min_notional:
        return "BELOW_MIN_NOTIONAL"
    if price is not None and quantity is not None and price * quantity >= MAX_NOTIONAL:
        return "NOTIONAL_TOO_LARGE"
    return None


def _place(client: redis.Redis, request: PlaceRequest, gate: GateCall | None = None) -> Placed:
    started = time.perf_counter()
    try:
        if gate is not None:
            return gated_place(client, gate, request)
        return OrderEntry(client).place(request)
    except ClientOrderIdReused as exc:
        raise _reused(request, exc.order_id) from None
    except AccountFrozen:
        raise Forbidden(
            "the account is frozen by the exchange's operators; no new orders are accepted",
            "ACCOUNT_FROZEN",
        ) from None
    except StreamBusy as exc:
        raise Unavailable("the order stream is busy; retry the same request", "STREAM_BUSY", 1) from exc
    except redis.RedisError as exc:
        # The command may or may not be in the stream: a retry with the same
        # client order id settles it either way.
        raise Unavailable(
            "the exchange is briefly unavailable; retry the same request", retry_after_s=1
        ) from exc
    finally:
        PLACE_CALL.observe(time.perf_counter() - started)


def _acknowledged(user_id: int, request: PlaceRequest, placed: Placed) -> Answer:
    if placed.duplicate:
        return _original(user_id, placed)
    at_ms = int(placed.entry_id.split("-")[0])
    payload = command_payload(placed.order_id, request.message(), at_ms)
    return Answer(202, {**payload, "duplicate": False})


def _original(user_id: int, placed: Placed) -> Answer:
    """The first attempt of a retried order, as far as it has got."""
    order = persisted_order(user_id, placed.order_id)
    if order is not None:
        return Answer(200, {**persisted_payload(order), "duplicate": True})
    pending = pending_order(user_id, placed.order_id)
    if pending is None:
        # Claimed by a first attempt that failed before its command was written? The
        # script writes both at once, so this means the stream was trimmed unpersisted.
        raise Unavailable("the original order is not readable yet; retry", "ORDER_NOT_READABLE", 1)
    return Answer(202, {**pending.payload, "duplicate": True})


def _place_and_wait(client: redis.Redis, user_id: int, request: PlaceRequest, looked_up: bool) -> Answer:
    waiter = ResultWaiter(client, user_id)
    try:
        try:
            waiter.subscribe()
        except redis.RedisError as exc:
            raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
        placed = _place(client, request)
        if placed.duplicate:
            return _original(user_id, placed)
        original = None if looked_up else _original_lost_meanwhile(client, request, placed)
        if original is not None:
            return original
        update = waiter.wait_for(placed.order_id, settings.API_RESULT_WAIT_MS / 1000)
    finally:
        waiter.close()
    answer = _acknowledged(user_id, request, placed)
    if update is None:
        return answer
    return Answer(200, {**answer.payload, **_result_fields(update)}, tuple(waiter.fills))


def _result_fields(update: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": update["status"],
        "executed_quantity": _executed_text(update.get("executed_quantity")),
        "executed_quote": _executed_text(update.get("executed_quote")),
        "reject_reason": str(update.get("reject_reason") or ""),
    }


def _executed_text(value: Any) -> str:
    """The engine writes amounts at its own scale ("0.01000"); answer as the other endpoints ("0.01")."""
    try:
        return amount_text(Decimal(str(value or "0"))) or "0"
    except ArithmeticError:
        return str(value)
