from exchange.models.accounts import ApiKey, Balance, OrderHold
from exchange.models.candles import Candle
from exchange.models.ledger import LedgerEntry, LedgerKind
from exchange.models.markets import Asset, Market, MarketStatus
from exchange.models.operations import FrozenAccount, OperatorAction
from exchange.models.orders import (
    OPEN_STATUSES,
    Order,
    OrderJourney,
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
    "FrozenAccount",
    "LedgerEntry",
    "LedgerKind",
    "Market",
    "MarketStatus",
    "OperatorAction",
    "Order",
    "OrderHold",
    "OrderJourney",
    "OrderStatus",
    "OrderType",
    "SelfTradePrevention",
    "Side",
    "TimeInForce",
    "Trade",
]
