"""Binance's error bodies, {"code": -1013, "msg": "..."}, and the mapping from the API's own errors."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from exchange.api.errors import ApiError

# Binance's codes (its "Error codes" page) for what this facade can answer.
UNKNOWN = -1000
DISCONNECTED = -1001
UNAUTHORIZED = -1002
TOO_MANY_REQUESTS = -1003
SERVER_BUSY = -1008
INVALID_MESSAGE = -1013
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM = -1102
UNREAD_PARAMETERS = -1104
PARAM_NOT_REQUIRED = -1106
BAD_PRECISION = -1111
INVALID_TIME_IN_FORCE = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
INVALID_INTERVAL = -1120
BAD_SYMBOL = -1121
INVALID_PARAMETER = -1130
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FORMAT = -2014
REJECTED_API_KEY = -2015


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str, value: str) -> BinanceError:
    return BinanceError(INVALID_PARAMETER, f"Invalid data sent for a parameter: {name}={value!r}.")


# The API's own codes, by their Binance counterparts; filter failures name Binance's filter,
# which clients (ccxt among them) read from the message.
_FILTERS = {
    "PRICE_NOT_ON_TICK": "PRICE_FILTER",
    "INVALID_PRICE": "PRICE_FILTER",
    "QUANTITY_NOT_ON_LOT": "LOT_SIZE",
    "BELOW_MIN_QUANTITY": "LOT_SIZE",
    "INVALID_QUANTITY": "LOT_SIZE",
    "BELOW_MIN_NOTIONAL": "NOTIONAL",
    "NOTIONAL_TOO_LARGE": "NOTIONAL",
    "QUANTITY_TOO_LARGE": "LOT_SIZE",
    "TOO_MANY_DECIMALS": "LOT_SIZE",
}
_AUTH = {
    "UNKNOWN_KEY": (REJECTED_API_KEY, 401, "Invalid API-key, IP, or permissions for action."),
    "KEY_REVOKED": (REJECTED_API_KEY, 401, "Invalid API-key, IP, or permissions for action."),
    "SCOPE_MISSING": (REJECTED_API_KEY, 401, "Invalid API-key, IP, or permissions for action."),
    "REPLAYED": (INVALID_SIGNATURE, 400, "This signature was already used; sign each request anew."),
}


def from_api_error(exc: ApiError) -> BinanceError:
    """The Binance error of one of the order flow's refusals."""
    if exc.code in _AUTH:
        code, status, msg = _AUTH[exc.code]
        return BinanceError(code, msg, status)
    if exc.status == 429:
        return BinanceError(TOO_MANY_REQUESTS, f"Too many requests; {exc.message}.", 429, exc.headers())
    if exc.status == 503:
        code = SERVER_BUSY if exc.code == "STREAM_BUSY" else DISCONNECTED
        return BinanceError(code, f"Internal error; unable to process your request. {exc.message}.", 503)
    if exc.code in _FILTERS:
        return BinanceError(INVALID_MESSAGE, f"Filter failure: {_FILTERS[exc.code]} ({exc.message}).")
    if exc.code == "INSUFFICIENT_FUNDS":
        return BinanceError(NEW_ORDER_REJECTED, "Account has insufficient balance for requested action.")
    if exc.code == "DUPLICATE_CLIENT_ORDER_ID":
        return BinanceError(NEW_ORDER_REJECTED, f"Duplicate order sent. {exc.message}.")
    if exc.code in ("MARKET_NOT_TRADING", "ACCOUNT_FROZEN", "INVALID_POST_ONLY"):
        return BinanceError(NEW_ORDER_REJECTED, f"{exc.message}.")
    if exc.code in ("ORDER_NOT_FOUND", "NOT_FOUND"):
        return BinanceError(NO_SUCH_ORDER, "Order does not exist.")
    if exc.code == "ORDER_NOT_OPEN":
        return BinanceError(CANCEL_REJECTED, f"Unknown order sent. {exc.message}.")
    if exc.code == "UNKNOWN_MARKET":
        return BinanceError(BAD_SYMBOL, "Invalid symbol.")
    if exc.status == 413:
        return BinanceError(INVALID_MESSAGE, exc.message)
    return BinanceError(INVALID_MESSAGE if exc.status < 500 else UNKNOWN, exc.message, min(exc.status, 500))


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json;charset=UTF-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(exc: BinanceError) -> HttpResponse:
    return json_response({"code": exc.code, "msg": exc.msg}, exc.status, exc.headers)
