"""The one text form of an amount on every surface: REST, WebSockets, stream events.

Plain decimal notation, no exponent, no trailing zeros, "0" for zero:
0.010000000000000000 -> "0.01", 12000.00 -> "12000", 0E-18 -> "0". A client
reads every price, quantity, fee and balance the same way, whatever the
market's grid or the column's 18 places.
"""

from __future__ import annotations

from decimal import Decimal


def amount_text(value: Decimal) -> str:
    """Wire text of an amount (see the module's rule)."""
    return format(value.normalize(), "f") if value else "0"
