"""In-memory matching engine: pure Python, integer ticks and lots, commands in, events out.

Imports nothing outside the standard library and ``sortedcontainers``.
"""

from __future__ import annotations

# First: it puts a mypyc build of these very sources, if there is one, before them (compiled.py).
from matching.compiled import ENGINE_BUILD

# isort: split
from matching.book import OrderBook
from matching.commands import (
    Amend,
    Book,
    Cancel,
    CancelAll,
    Command,
    Expire,
    Place,
    PlaceLimit,
    PlaceStop,
    apply,
)
from matching.errors import InvariantViolation, MatchingError, SnapshotError
from matching.events import (
    Accepted,
    Amended,
    Cancelled,
    Depth,
    Event,
    EventView,
    Filled,
    Refreshed,
    Rejected,
    StopAccepted,
    Trade,
    Triggered,
    view,
)
from matching.orders import OpenOrder
from matching.types import (
    MAX_VALUE,
    CancelReason,
    CommandKind,
    EventKind,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from matching.units import (
    from_lots,
    from_quote_units,
    from_ticks,
    to_lots,
    to_quote_units,
    to_ticks,
)

__all__ = [
    "ENGINE_BUILD",
    "MAX_VALUE",
    "Accepted",
    "Amend",
    "Amended",
    "Book",
    "Cancel",
    "CancelAll",
    "CancelReason",
    "Cancelled",
    "Command",
    "CommandKind",
    "Depth",
    "Event",
    "EventKind",
    "EventView",
    "Expire",
    "Filled",
    "InvariantViolation",
    "MatchingError",
    "OpenOrder",
    "OrderBook",
    "OrderType",
    "Place",
    "PlaceLimit",
    "PlaceStop",
    "Refreshed",
    "RejectReason",
    "Rejected",
    "SelfTradePrevention",
    "Side",
    "SnapshotError",
    "StopAccepted",
    "TimeInForce",
    "Trade",
    "Triggered",
    "apply",
    "from_lots",
    "from_quote_units",
    "from_ticks",
    "to_lots",
    "to_quote_units",
    "to_ticks",
    "view",
]
