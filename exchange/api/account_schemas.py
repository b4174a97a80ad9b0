"""Answers of the account endpoints: fills and balances."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

from exchange.api.id_texts import IdText
from exchange.api.order_schemas import SideName


class FillOut(Schema):
    trade_id: IdText
    order_id: IdText
    market: str
    side: SideName
    liquidity: Literal["MAKER", "TAKER"]
    price: str
    quantity: str
    quote_quantity: str
    fee: str
    fee_asset: str
    executed_at: int = Field(description="Unix milliseconds.")


class FillPage(Schema):
    items: list[FillOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class BalanceOut(Schema):
    asset: str
    available: str
    locked: str = Field(description="Held for open orders.")
    total: str
