"""Bodies and answers of the order endpoints.

Request bodies are strict: unknown fields, wrong JSON types and loose
amounts are refused (see exchange.api.decimals); enum values are the strings
of exchange.models. Times are Unix milliseconds, like X-Spot-Timestamp.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from exchange.api.decimals import AmountText
from exchange.api.id_texts import IdText

SideName = Literal["BUY", "SELL"]
OrderTypeName = Literal["LIMIT", "MARKET", "STOP_LIMIT", "STOP_MARKET"]
TimeInForceName = Literal["GTC", "IOC", "FOK", "GTD"]
SelfTradeName = Literal["CANCEL_NEWEST", "CANCEL_OLDEST", "CANCEL_BOTH", "ALLOW"]
# PENDING_NEW: in the stream, not yet processed or not yet persisted (Binance has the same).
OrderStatusName = Literal[
    "PENDING_NEW", "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"
]
PersistedStatusName = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"]
CLIENT_ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,36}$"
ClientOrderId = Annotated[str, Field(pattern=CLIENT_ORDER_ID_PATTERN, examples=["my-order-42"])]
MarketSymbol = Annotated[str, Field(min_length=1, max_length=33, examples=["BTC/USDT"])]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PlaceOrderIn(StrictBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "market": "BTC/USDT",
                    "side": "BUY",
                    "type": "LIMIT",
                    "price": "30000.00",
                    "quantity": "0.001",
                    "client_order_id": "my-order-42",
                }
            ]
        }
    )

    market: MarketSymbol
    side: SideName
    type: OrderTypeName
    time_in_force: TimeInForceName = "GTC"
    price: AmountText | None = Field(default=None, description="Limit price in quote; LIMIT only.")
    quantity: AmountText | None = Field(default=None, description="Base quantity.")
    quote_quantity: AmountText | None = Field(
        default=None, description="Quote amount to spend; MARKET BUY only, instead of quantity."
    )
    post_only: bool = False
    self_trade_prevention: SelfTradeName = "CANCEL_NEWEST"
    stop_price: AmountText | None = Field(
        default=None,
        description="STOP_LIMIT / STOP_MARKET only: the last trade price that triggers the order (a BUY at "
        "or above it, a SELL at or below). Its funds are held at once; a STOP_MARKET BUY gives "
        "quote_quantity.",
    )
    expire_at: int | None = Field(
        default=None,
        description="time_in_force GTD only: Unix milliseconds at which the order expires (status EXPIRED, "
        "reason EXPIRED), with or without other activity in the market.",
    )
    display_quantity: AmountText | None = Field(
        default=None,
        description="An iceberg LIMIT (GTC or GTD): the size shown in the book. When it trades away the next "
        "part comes from the rest and queues behind the orders already at that price.",
    )
    client_order_id: ClientOrderId | None = Field(
        default=None,
        description="Your id for the order. A retry with the same id and the same order (market, side, type, "
        "time_in_force, price, quantity, quote_quantity by value, post_only, self_trade_prevention) returns "
        "the original order; the same id with other parameters is refused (409 DUPLICATE_CLIENT_ORDER_ID). "
        "An id names one order while it is open and CLIENT_ORDER_ID_WINDOW_S (300 s) after it was placed; "
        "then it may name a new order. Generated when absent (then a retry cannot be recognised).",
    )
    response_type: Literal["ACK", "RESULT"] = Field(
        default="ACK",
        description="ACK answers once the order is in the stream (202, PENDING_NEW). RESULT waits up to "
        "API_RESULT_WAIT_MS for the engine's verdict (200), else answers 202 PENDING_NEW.",
    )


class AmendOrderIn(StrictBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "29950.00"}]})

    quantity: AmountText | None = Field(default=None, description="New total quantity of the order.")
    price: AmountText | None = Field(default=None, description="New limit price.")


class OrderOut(Schema):
    order_id: IdText
    client_order_id: str
    market: str
    side: SideName
    type: OrderTypeName
    time_in_force: TimeInForceName
    post_only: bool
    self_trade_prevention: SelfTradeName
    price: str | None
    quantity: str | None
    quote_quantity: str | None
    executed_quantity: str
    executed_quote: str
    status: OrderStatusName
    reject_reason: str
    created_at: int = Field(description="Unix milliseconds.")
    updated_at: int = Field(description="Unix milliseconds.")
    stop_price: str | None = Field(default=None, description="A stop order's trigger price.")
    triggered_at: int | None = Field(default=None, description="When a stop order triggered (Unix ms).")
    expire_at: int | None = Field(default=None, description="A GTD order's expire time (Unix ms).")
    display_quantity: str | None = Field(default=None, description="An iceberg's visible size.")


class PlacedOrderOut(OrderOut):
    duplicate: bool = Field(description="True when this answers a retry of an order already placed.")


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class OrderCommandOut(Schema):
    order_id: IdText
    client_order_id: str
    market: str
    status: Literal["PENDING_CANCEL", "PENDING_AMEND"]


class CancelAllOut(Schema):
    market: str
    status: Literal["PENDING_CANCEL"]
