"""Enumerations shared by the engine, its events and its callers.

All are ``IntEnum`` so that they compare and hash as plain ints (cheap in the
hot path) and serialise as ints (JSON, Redis stream fields, DB columns).
The numeric values are part of the wire format: never renumber a member.
"""

from __future__ import annotations

from enum import IntEnum


class Side(IntEnum):
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    LIMIT = 1
    MARKET = 2


class TimeInForce(IntEnum):
    GTC = 1
    IOC = 2
    FOK = 3


class SelfTradePrevention(IntEnum):
    """What happens when a taker would trade with a resting order of its own user.

    The taker's mode decides. NEWEST cancels the taker, OLDEST the resting order
    (and matching goes on), BOTH cancels both.
    """

    CANCEL_NEWEST = 1
    CANCEL_OLDEST = 2
    CANCEL_BOTH = 3
    ALLOW = 4


class CommandKind(IntEnum):
    PLACE = 1
    CANCEL = 2
    AMEND = 3
    CANCEL_ALL = 4


class EventKind(IntEnum):
    ACCEPTED = 1
    REJECTED = 2
    TRADE = 3
    CANCELLED = 4
    FILLED = 5
    AMENDED = 6
    DEPTH = 7
    STOP_ACCEPTED = 8  # a stop order waits for its trigger (matching.stops)
    TRIGGERED = 9  # a stop order's trigger price was reached; its place events follow
    REFRESHED = 10  # an iceberg's visible part ran out and refilled from its reserve


class RejectReason(IntEnum):
    INVALID_ORDER_TYPE = 1
    INVALID_SIDE = 2
    INVALID_TIME_IN_FORCE = 3
    INVALID_STP = 4
    INVALID_PRICE = 5
    INVALID_QUANTITY = 6
    INVALID_POST_ONLY = 7
    DUPLICATE_ORDER_ID = 8
    NO_LIQUIDITY = 9
    QUOTE_TOO_SMALL = 10
    UNKNOWN_ORDER = 11
    NOT_OWNER = 12
    INVALID_AMEND = 13
    POST_ONLY_WOULD_CROSS = 14
    INVALID_ORDER_ID = 15
    INVALID_USER_ID = 16
    NOTIONAL_TOO_LARGE = 17  # price x size of one order above MAX_VALUE
    BOOK_TOTAL_TOO_LARGE = 18  # resting, the order would take a side's lots or notional above MAX_VALUE
    INSUFFICIENT_FUNDS = 19  # a market buy's spend cap does not pay for one lot at the best ask
    INVALID_STOP_PRICE = 20
    STOP_WOULD_TRIGGER = 21  # the last trade price already meets the stop price
    INVALID_EXPIRE_TIME = 22  # not an int, or not after the command's time
    INVALID_DISPLAY_QTY = 23


class CancelReason(IntEnum):
    USER = 1
    IOC_REMAINDER = 2
    FOK_UNFILLABLE = 3
    POST_ONLY_WOULD_CROSS = 4
    SELF_TRADE = 5
    MARKET_REMAINDER = 6
    INSUFFICIENT_FUNDS = 7  # a market buy by quantity reached its spend cap
    EXPIRED = 8  # a good-till-date order reached its expire time


# Upper bound for ticks, lots and quote amounts, and for every sum of them the
# book keeps or implies (a level's total, a side's lots and notional, an order's
# notional): they must fit a signed 64-bit column downstream, and one bound
# above every price lets a market order use an integer limit instead of a None
# check in the matching loop.
MAX_VALUE = 2**63 - 1
