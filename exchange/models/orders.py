"""Orders and the trades between them.

Both are written by the workers in batches; their ids are 64-bit integers
assigned outside the database, so a replayed batch rewrites the same rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from exchange.models.fields import amount_field
from exchange.models.markets import Asset, Market


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderType(models.TextChoices):
    LIMIT = "LIMIT", "Limit"
    MARKET = "MARKET", "Market"
    STOP_LIMIT = "STOP_LIMIT", "Stop limit"
    STOP_MARKET = "STOP_MARKET", "Stop market"


class TimeInForce(models.TextChoices):
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"
    GTD = "GTD", "Good till date"


class SelfTradePrevention(models.TextChoices):
    CANCEL_NEWEST = "CANCEL_NEWEST", "Cancel newest"
    CANCEL_OLDEST = "CANCEL_OLDEST", "Cancel oldest"
    CANCEL_BOTH = "CANCEL_BOTH", "Cancel both"
    ALLOW = "ALLOW", "Allow"


class OrderStatus(models.TextChoices):
    NEW = "NEW", "New"
    PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
    FILLED = "FILLED", "Filled"
    CANCELED = "CANCELED", "Canceled"
    REJECTED = "REJECTED", "Rejected"
    EXPIRED = "EXPIRED", "Expired"


OPEN_STATUSES = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class Order(models.Model):
    id = models.BigIntegerField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders")
    client_order_id = models.CharField(max_length=36)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=11, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    post_only = models.BooleanField(default=False)
    self_trade_prevention = models.CharField(
        max_length=13, choices=SelfTradePrevention.choices, default=SelfTradePrevention.CANCEL_NEWEST
    )
    price = amount_field(null=True, blank=True)
    quantity = amount_field(null=True, blank=True, help_text="Base quantity.")
    quote_quantity = amount_field(null=True, blank=True, help_text="Quote amount of a market buy.")
    executed_quantity = amount_field(default=Decimal(0))
    executed_quote = amount_field(default=Decimal(0))
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.NEW)
    reject_reason = models.CharField(max_length=40, blank=True)
    engine_sequence = models.BigIntegerField(null=True, blank=True)
    # Stop, good-till-date and iceberg orders (docs/adr/0013-stop-gtd-iceberg.md).
    stop_price = amount_field(null=True, blank=True, help_text="A stop order's trigger price.")
    triggered_at = models.DateTimeField(null=True, blank=True, help_text="When a stop order triggered.")
    expire_at = models.DateTimeField(null=True, blank=True, help_text="When a GTD order expires.")
    display_quantity = amount_field(null=True, blank=True, help_text="An iceberg's visible size.")
    hidden_quantity = amount_field(
        null=True,
        blank=True,
        help_text="An iceberg's reserve: what a restart puts back behind the visible part.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__isnull=True) | models.Q(price__gt=0), name="order_price_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__isnull=True) | models.Q(quantity__gt=0),
                name="order_quantity_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__isnull=False) | models.Q(quote_quantity__isnull=False),
                name="order_has_a_size",
            ),
            models.CheckConstraint(
                condition=models.Q(executed_quantity__gte=0, executed_quote__gte=0),
                name="order_executed_not_negative",
            ),
        ]
        indexes = [
            # A trader's open orders, newest first; and their history per market.
            models.Index(fields=["user", "status", "-id"], name="order_user_status"),
            models.Index(fields=["user", "market", "-id"], name="order_user_market"),
            # Their history per market from or up to a time (Binance allOrders, ADR 0019).
            models.Index(fields=["user", "market", "created_at"], name="order_user_market_time"),
            models.Index(fields=["market", "status"], name="order_market_status"),
            # A client order id's orders, newest first: it names a new order once the
            # last one is done and its retry window passed (docs/adr/0015).
            models.Index(fields=["user", "client_order_id", "-id"], name="order_user_client_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.side} {self.market_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Trade(models.Model):
    """One fill between a resting maker order and an incoming taker order.

    The order links carry no database constraint: the matching stage writes
    trades and order updates in one batch, in whatever order they coalesce.
    """

    id = models.BigIntegerField(primary_key=True)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="trades")
    price = amount_field()
    quantity = amount_field()
    quote_quantity = amount_field()
    taker_side = models.CharField(max_length=4, choices=Side.choices)
    maker_order = models.ForeignKey(
        Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="maker_trades"
    )
    taker_order = models.ForeignKey(
        Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="taker_trades"
    )
    maker_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="maker_trades"
    )
    taker_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="taker_trades"
    )
    maker_fee = amount_field(default=Decimal(0))
    maker_fee_asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    taker_fee = amount_field(default=Decimal(0))
    taker_fee_asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    executed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0, quantity__gt=0), name="trade_positive"),
        ]
        indexes = [
            models.Index(fields=["market", "-id"], name="trade_market_recent"),
            models.Index(fields=["maker_user", "-id"], name="trade_maker_user"),
            models.Index(fields=["taker_user", "-id"], name="trade_taker_user"),
            # A user's trades in a market from or up to a time (Binance myTrades, ADR 0019).
            models.Index(fields=["maker_user", "market", "executed_at"], name="trade_maker_market_time"),
            models.Index(fields=["taker_user", "market", "executed_at"], name="trade_taker_market_time"),
        ]

    def __str__(self) -> str:
        return f"trade {self.id}"


class OrderJourney(models.Model):
    """When an order passed each stage of the pipeline, in microseconds since the epoch.

    Its matching worker writes it with the batch after the one that holds the
    order (that batch's commit time is known only once it has committed):
    see exchange/pipeline/journey.py. No foreign key constraint: the row is
    an observation, written in bulk, and must never stop a batch. The time
    the order was pushed on a WebSocket is kept in Redis by daphne
    (exchange/realtime/push_times.py), not here.
    """

    order = models.OneToOneField(
        Order, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="journey"
    )
    accepted_us = models.BigIntegerField(help_text="The API's XADD to the accounts stream (ms precision).")
    # Null: the command came from a version that did not carry the time.
    accounts_in_us = models.BigIntegerField(null=True, blank=True)
    accounts_out_us = models.BigIntegerField(null=True, blank=True)
    matching_in_us = models.BigIntegerField()
    matching_out_us = models.BigIntegerField()
    committed_us = models.BigIntegerField()

    def __str__(self) -> str:
        return f"journey of #{self.order_id}"
