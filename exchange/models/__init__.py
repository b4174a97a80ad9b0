from exchange.models.accounts import ApiKey, Balance, OrderHold
from exchange.models.candles import Candle
from exchange.models.ledger import LedgerEntry, LedgerKind
from exchange.models.markets import Asset, Market, MarketStatus
from exchange.models.orders import (
    OPEN_STATUSES,
    Order,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
)

__all__ = [
    "OPEN_STATUSES",
    "ApiKey",
    "Asset",
    "Balance",
    "Candle",
    "LedgerEntry",
    "LedgerKind",
    "Market",
    "MarketStatus",
    "Order",
    "OrderHold",
    "OrderStatus",
    "OrderType",
    "SelfTradePrevention",
    "Side",
    "TimeInForce",
    "Trade",
]
