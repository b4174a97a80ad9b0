"""The matching stage's view of one order: everything its row and its updates need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exchange.pipeline.markets import MarketRules
from exchange.pipeline.messages import MalformedEntry, optional_decimal, require_int, require_str

ZERO = Decimal(0)

# The columns of an order's row, in the order `OrderState.row` gives them.
ORDER_FIELDS = (
    "id",
    "user_id",
    "market_id",
    "client_order_id",
    "side",
    "type",
    "time_in_force",
    "post_only",
    "self_trade_prevention",
    "price",
    "quantity",
    "quote_quantity",
    "executed_quantity",
    "executed_quote",
    "status",
    "reject_reason",
    "engine_sequence",
    "created_at",
    "updated_at",
    "stop_price",
    "triggered_at",
    "expire_at",
    "display_quantity",
    "hidden_quantity",
)


@dataclass(slots=True)
class OrderState:
    order_id: int
    user_id: int
    market_id: int
    symbol: str
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    post_only: bool
    stp: str
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    created_at: datetime
    updated_at: datetime
    executed_quantity: Decimal = ZERO
    executed_quote: Decimal = ZERO
    status: str = "PENDING"
    reject_reason: str = ""
    engine_sequence: int | None = None
    # The texts of price and quantity in updates, made once (None: made from the amount each time).
    price_text: str | None = None
    quantity_text: str | None = None
    # Stop, good-till-date and iceberg orders (docs/adr/0013-stop-gtd-iceberg.md).
    stop_price: Decimal | None = None
    triggered_at: datetime | None = None
    expire_at: datetime | None = None
    display_quantity: Decimal | None = None
    hidden_quantity: Decimal | None = None

    @property
    def expire_at_ms(self) -> int | None:
        return None if self.expire_at is None else round(self.expire_at.timestamp() * 1000)

    @classmethod
    def from_command(
        cls,
        command: dict[str, Any],
        rules: MarketRules,
        now: datetime,
        price: Decimal | None,
        quantity: Decimal | None,
    ) -> OrderState:
        """The order a place command describes; its price and quantity already read by the caller."""
        expire_ms = command.get("exp")
        if expire_ms is not None and type(expire_ms) is not int:
            raise MalformedEntry("'exp' must be an integer")
        return cls(
            order_id=require_int(command, "oid"),
            user_id=require_int(command, "uid"),
            market_id=rules.market_id,
            symbol=rules.symbol,
            client_order_id=require_str(command, "cid"),
            side=require_str(command, "side"),
            type=require_str(command, "type"),
            time_in_force=require_str(command, "tif"),
            post_only=bool(command.get("po")),
            stp=require_str(command, "stp"),
            price=price,
            quantity=quantity,
            quote_quantity=optional_decimal(command, "qq"),
            created_at=now,
            updated_at=now,
            stop_price=optional_decimal(command, "sp"),
            expire_at=None if expire_ms is None else datetime.fromtimestamp(expire_ms / 1000, UTC),
            display_quantity=optional_decimal(command, "dq"),
        )

    def fill(self, quantity: Decimal, quote: Decimal, now: datetime) -> None:
        self.executed_quantity += quantity
        self.executed_quote += quote
        self.status = "PARTIALLY_FILLED"
        self.updated_at = now

    def finish(self, status: str, reason: str, now: datetime) -> None:
        self.status = status
        self.reject_reason = reason
        self.updated_at = now

    def row(self) -> tuple[Any, ...]:
        """The order's row, its values in the order of ORDER_FIELDS."""
        return (
            self.order_id,
            self.user_id,
            self.market_id,
            self.client_order_id,
            self.side,
            self.type,
            self.time_in_force,
            self.post_only,
            self.stp,
            self.price,
            self.quantity,
            self.quote_quantity,
            self.executed_quantity,
            self.executed_quote,
            self.status,
            self.reject_reason,
            self.engine_sequence,
            self.created_at,
            self.updated_at,
            self.stop_price,
            self.triggered_at,
            self.expire_at,
            self.display_quantity,
            self.hidden_quantity,
        )

    def update(self) -> dict[str, Any]:
        """The order update traders receive; a stop, GTD or iceberg order's also say what it is."""
        update: dict[str, Any] = {
            "type": "order",
            "order_id": str(self.order_id),
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "status": self.status,
            "price": self.price_text or (None if self.price is None else str(self.price)),
            "quantity": self.quantity_text or (None if self.quantity is None else str(self.quantity)),
            "executed_quantity": str(self.executed_quantity),
            "executed_quote": str(self.executed_quote),
            "reject_reason": self.reject_reason,
        }
        if self.stop_price is not None or self.expire_at is not None or self.display_quantity is not None:
            update["order_type"] = self.type
            update["time_in_force"] = self.time_in_force
            update["stop_price"] = None if self.stop_price is None else str(self.stop_price)
            update["triggered"] = self.triggered_at is not None
            update["expire_at"] = self.expire_at_ms
            update["display_quantity"] = None if self.display_quantity is None else str(self.display_quantity)
        return update
