"""Loading a stage's state from the database when it becomes leader."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.functions import Mod

from exchange.models import OPEN_STATUSES, Asset, Balance, Order, OrderHold, OrderStatus, Trade
from exchange.pipeline.accounts_stage import AccountsState, Hold
from exchange.pipeline.client_order_ids import RecentClientOrderIds
from exchange.pipeline.ids import accepted_ms_of, parse_entry_id
from exchange.pipeline.markets import MarketRules
from exchange.pipeline.matching_stage import spendable_units
from exchange.pipeline.order_state import OrderState
from matching import (
    OrderBook,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    snapshot,
    stops,
    to_lots,
    to_ticks,
)

TRADE_SEQUENCE_MASK = (1 << 40) - 1


def fee_user_id() -> int:
    user, created = get_user_model().objects.get_or_create(username=settings.FEE_ACCOUNT_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return int(user.pk)


def load_accounts_state(shard: int, account_shards: int, resume_after: str) -> AccountsState:
    """Balances, open holds and recent client order ids, to apply the entries after `resume_after`."""
    users = set(
        get_user_model()
        .objects.annotate(shard=Mod(F("id"), account_shards))
        .filter(shard=shard)
        .values_list("id", flat=True)
    )
    asset_ids = dict(Asset.objects.values_list("code", "id"))
    balances: dict[tuple[int, str], list[Decimal]] = {}
    for user_id, code, available, locked in Balance.objects.filter(user_id__in=users).values_list(
        "user_id", "asset__code", "available", "locked"
    ):
        balances[(user_id, code)] = [available, locked]
    holds = {}
    for hold in OrderHold.objects.filter(is_open=True, user_id__in=users).select_related("asset"):
        holds[hold.order_id] = Hold(
            hold.order_id,
            hold.user_id,
            hold.asset.code,
            hold.market_symbol,
            hold.client_order_id,
            hold.remaining,
            hold.price,
            hold.quantity,
            hold.filled_when_sized,
            hold.amends_sent,
        )
    # Only what this stage itself committed: an order row written by matching
    # may be ahead of this stage's offset, and the replay must decide as before.
    # The window is counted in entry time, as the rows' times are: the entries
    # to come are after `resume_after`, so what was placed within a window
    # before it is all they can repeat, however long the worker was down.
    window_ms = settings.CLIENT_ORDER_ID_WINDOW_S * 1000
    since = datetime.fromtimestamp(max(parse_entry_id(resume_after)[0] - window_ms, 0) / 1000, UTC)
    placed = list(
        OrderHold.objects.filter(user_id__in=users, updated_at__gte=since).values_list(
            "order_id", "user_id", "client_order_id"
        )
    )
    placed += (
        Order.objects.filter(user_id__in=users, created_at__gte=since, status=OrderStatus.REJECTED)
        .exclude(id__in=OrderHold.objects.filter(user_id__in=users).values("order_id"))
        .values_list("id", "user_id", "client_order_id")
    )
    client_order_ids = RecentClientOrderIds(
        window_ms, [(accepted_ms_of(order_id), (user_id, cid)) for order_id, user_id, cid in placed]
    )

    def user_exists(user_id: int) -> bool:
        return user_id % account_shards == shard and get_user_model().objects.filter(pk=user_id).exists()

    return AccountsState(balances, holds, client_order_ids, users, asset_ids, user_exists)


def load_books(
    markets: dict[str, MarketRules],
) -> tuple[dict[str, OrderBook], dict[int, OrderState], int]:
    """Rebuild each book from its open orders and last trade; returns the top engine sequence.

    The order rows carry all the book holds (ADR 0013): resting orders in
    priority order, an iceberg's reserve, an expire time, the pending stops in
    the order they arrived; the last trade row gives the last price and the
    trade sequence. The book is restored from one snapshot of all of it.
    """
    books: dict[str, OrderBook] = {}
    orders: dict[int, OrderState] = {}
    top_sequence = 0
    for rules in markets.values():
        rows = []
        icebergs: list[list[int]] = []
        expiries: list[list[int]] = []
        pending_stops: list[Order] = []
        open_orders = Order.objects.filter(market_id=rules.market_id, status__in=OPEN_STATUSES).order_by(
            "engine_sequence", "id"
        )
        for order in open_orders:
            orders[order.pk] = _state_of(order, rules)
            top_sequence = max(top_sequence, order.engine_sequence or 0)
            if order.stop_price is not None and order.triggered_at is None:
                pending_stops.append(order)
                continue
            assert order.price is not None and order.quantity is not None and order.engine_sequence
            quantity = to_lots(order.quantity, rules.lot_size)
            # An iceberg's reserve is not on the book: what rests is the visible part.
            hidden = to_lots(order.hidden_quantity or Decimal(0), rules.lot_size)
            remaining = to_lots(
                order.quantity - order.executed_quantity - (order.hidden_quantity or 0), rules.lot_size
            )
            price = to_ticks(order.price, rules.tick_size)
            assert quantity and remaining and price, f"order {order.pk} is off the market's grid"
            rows.append(
                [
                    order.pk,
                    order.user_id,
                    int(Side[order.side]),
                    price,
                    quantity,
                    remaining,
                    int(SelfTradePrevention[order.self_trade_prevention]),
                    order.engine_sequence,
                    int(order.post_only),
                ]
            )
            if hidden and order.display_quantity:
                icebergs.append([order.pk, hidden, to_lots(order.display_quantity, rules.lot_size) or 0])
            if order.expire_at is not None:
                expiries.append([order.pk, round(order.expire_at.timestamp() * 1000)])
        last_trade = (
            Trade.objects.filter(market_id=rules.market_id).order_by("-id").values_list("id", "price").first()
        )
        extras = snapshot.Extras(
            sorted(icebergs),
            sorted(expiries),
            [_stop_of(order, rules, seq) for seq, order in enumerate(_by_arrival(pending_stops), start=1)],
            None if last_trade is None else to_ticks(last_trade[1], rules.tick_size),
        )
        state = snapshot.make(
            rules.market_id,
            (last_trade[0] if last_trade else 0) & TRADE_SEQUENCE_MASK,
            max((row[7] for row in rows), default=0),
            _bids_then_asks(rows),
            extras,
        )
        books[rules.symbol] = OrderBook.restore(rules.market_id, state)
    return books, orders, top_sequence


def _by_arrival(pending_stops: list[Order]) -> list[Order]:
    """Pending stops in the order the book took them: by the engine sequence of their STOP_ACCEPTED.

    A row written before stops had one is ordered by id (ids follow one
    accounts shard's stream, not the merge of several).
    """
    return sorted(pending_stops, key=lambda o: (o.engine_sequence is not None, o.engine_sequence or 0, o.pk))


def _stop_of(order: Order, rules: MarketRules, seq: int) -> stops.StopOrder:
    assert order.stop_price is not None
    quote = None if order.quote_quantity is None else spendable_units(order.quote_quantity, rules)
    return stops.StopOrder(
        order.pk,
        order.user_id,
        Side[order.side],
        OrderType.LIMIT if order.type == "STOP_LIMIT" else OrderType.MARKET,
        TimeInForce[order.time_in_force],
        None if order.price is None else to_ticks(order.price, rules.tick_size),
        None if order.quantity is None else to_lots(order.quantity, rules.lot_size),
        quote,
        to_ticks(order.stop_price, rules.tick_size) or 0,
        SelfTradePrevention[order.self_trade_prevention],
        seq,
    )


def _bids_then_asks(rows: list[list[int]]) -> list[list[int]]:
    """The snapshot's order: bids best first, then asks best first; time order within a price."""
    bids = sorted((r for r in rows if r[2] == Side.BUY), key=lambda r: (-r[3], r[7]))
    asks = sorted((r for r in rows if r[2] == Side.SELL), key=lambda r: (r[3], r[7]))
    return bids + asks


def _state_of(order: Order, rules: MarketRules) -> OrderState:
    """An open order as the matching stage holds it, its amounts at the exponents the stage gives them.

    The columns hold 18 places ("0.370000000000000000"); the stage's own
    amounts are multiples of the tick and the lot ("0.3700"), and an update
    after a restart must read as one before it.
    """
    quote_step = rules.tick_size * rules.lot_size
    return OrderState(
        order_id=order.pk,
        user_id=order.user_id,
        market_id=rules.market_id,
        symbol=rules.symbol,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        post_only=order.post_only,
        stp=order.self_trade_prevention,
        price=order.price,
        quantity=order.quantity,
        quote_quantity=order.quote_quantity,
        created_at=order.created_at,
        updated_at=order.updated_at,
        executed_quantity=_at_step(order.executed_quantity, rules.lot_size),
        executed_quote=_at_step(order.executed_quote, quote_step),
        status=order.status,
        reject_reason=order.reject_reason,
        engine_sequence=order.engine_sequence,
        price_text=None if order.price is None else str(_at_step(order.price, rules.tick_size)),
        quantity_text=None if order.quantity is None else str(_at_step(order.quantity, rules.lot_size)),
        stop_price=order.stop_price,
        triggered_at=order.triggered_at,
        expire_at=order.expire_at,
        display_quantity=order.display_quantity,
        hidden_quantity=order.hidden_quantity,
    )


# Wide enough for a 36-digit column at any step's exponent (the default context has 28 digits).
_WIDE = Context(prec=80)


def _at_step(amount: Decimal, step: Decimal) -> Decimal:
    """The amount with the exponent of `step` (exact: it is a multiple of it); zero as plain 0."""
    return amount.quantize(step, context=_WIDE) if amount else Decimal(0)
