"""What the matching stage settles back to the accounts stage: one short list per item.

    ["fill", order id, user id, trade id, symbol, side, base, quote, fee]
    ["done", order id, user id]
    ["fee", fee account's user id, asset, amount, trade id]
    ["amended", order id, user id, amend number, price, quantity, open quantity]

An "amended" item answers an amend the accounts stage numbered (whether the
engine took it or refused it): the order's limit price, total size and open
size after it, so the stage can size the hold to exactly what is still open.

Amounts are decimal texts, ids integers. An order settles ~3 items (its
fills, its end, the fees of its trades), so their form is paid for on
both sides of the stream: as lists they are cheaper to build, to encode
and to decode than as objects, and are read by position, not by key.
Items in the object form of earlier versions (``{"k": "fill", "oid": ...}``)
still read: `as_list` turns one into its list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange.pipeline.messages import MalformedEntry, decimal_value

FILL = "fill"
DONE = "done"
FEE = "fee"
AMENDED = "amended"

# Each kind's fields after the kind, and the names they had in the object form.
_OBJECT_FIELDS = {
    FILL: ("oid", "uid", "tid", "m", "side", "base", "quote", "fee"),
    DONE: ("oid", "uid"),
    FEE: ("uid", "asset", "amount", "tid"),
    AMENDED: ("oid", "uid", "n", "px", "qty", "open"),
}
_SIDES = ("BUY", "SELL")


def fill(
    order_id: int, user_id: int, trade_id: int, symbol: str, side: str, base: str, quote: str, fee: str
) -> list[Any]:
    return [FILL, order_id, user_id, trade_id, symbol, side, base, quote, fee]


def done(order_id: int, user_id: int) -> list[Any]:
    return [DONE, order_id, user_id]


def fee(user_id: int, asset: str, amount: str, trade_id: int) -> list[Any]:
    return [FEE, user_id, asset, amount, trade_id]


def amended(
    order_id: int, user_id: int, number: int, price: str, quantity: str, open_quantity: str
) -> list[Any]:
    return [AMENDED, order_id, user_id, number, price, quantity, open_quantity]


def as_list(item: Any) -> list[Any]:
    """An item as its list, whichever form it came in; MalformedEntry for what is neither."""
    if type(item) is list:
        fields = _OBJECT_FIELDS.get(item[0]) if item and type(item[0]) is str else None
        if fields is None or len(item) != len(fields) + 1:
            raise MalformedEntry(f"unknown settlement {item[:1]!r}, or the wrong number of fields")
        return item
    if isinstance(item, dict):
        kind = item.get("k")
        fields = _OBJECT_FIELDS.get(kind) if type(kind) is str else None
        if fields is None:
            raise MalformedEntry(f"unknown settlement {kind!r}")
        return [kind, *(item.get(name) for name in fields)]
    raise MalformedEntry("a settlement must be a list")


def read_fill(item: list[Any]) -> tuple[int, int, int, str, str, Decimal, Decimal, Decimal]:
    """A fill's order, user and trade ids, symbol, side, and base, quote and fee amounts."""
    _, order_id, user_id, trade_id, symbol, side, base, quote, fee_amount = item
    if type(order_id) is not int or type(user_id) is not int or type(trade_id) is not int:
        raise MalformedEntry("a fill's order, user and trade ids must be integers")
    if type(symbol) is not str or side not in _SIDES:
        raise MalformedEntry(f"a fill needs a symbol and a side, not {symbol!r} and {side!r}")
    return (
        order_id,
        user_id,
        trade_id,
        symbol,
        side,
        decimal_value(base, "base"),
        decimal_value(quote, "quote"),
        decimal_value(fee_amount, "fee"),
    )


def read_done(item: list[Any]) -> int:
    """The order id of a done item."""
    order_id = item[1]
    if type(order_id) is not int:
        raise MalformedEntry("a done's order id must be an integer")
    return order_id


def read_fee(item: list[Any]) -> tuple[int, str, Decimal, int]:
    """A fee's account user id, asset, amount and trade id."""
    _, user_id, asset, amount, trade_id = item
    if type(user_id) is not int or type(trade_id) is not int or type(asset) is not str or not asset:
        raise MalformedEntry("a fee needs integer user and trade ids and an asset")
    return user_id, asset, decimal_value(amount, "amount"), trade_id


def read_amended(item: list[Any]) -> tuple[int, int, Decimal, Decimal, Decimal]:
    """An amend's answer: order id, amend number, and the order's price, total and open sizes."""
    _, order_id, _, number, price, quantity, open_quantity = item
    if type(order_id) is not int or type(number) is not int:
        raise MalformedEntry("an amend's answer needs integer order id and amend number")
    return (
        order_id,
        number,
        decimal_value(price, "px"),
        decimal_value(quantity, "qty"),
        decimal_value(open_quantity, "open"),
    )
