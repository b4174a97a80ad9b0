"""Amounts on the wire: decimal strings, strictly parsed, never floats.

A JSON number would pass through a float in most clients, so amounts are
strings of plain digits: no sign, no exponent, no NaN or Infinity, at most 18
integer digits and 18 places (the columns of exchange.models.fields).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from exchange.amounts import amount_text as plain_amount
from exchange.models.fields import AMOUNT_DIGITS, AMOUNT_PLACES

INTEGER_DIGITS = AMOUNT_DIGITS - AMOUNT_PLACES
_PLAIN = re.compile(r"(0|[1-9][0-9]*)(\.([0-9]+))?")
DECIMAL_PATTERN = rf"^(0|[1-9][0-9]{{0,{INTEGER_DIGITS - 1}}})(\.[0-9]{{1,{AMOUNT_PLACES}}})?$"


def parse_amount(text: str) -> Decimal:
    """A positive amount from its text, or a PydanticCustomError naming what is wrong."""
    if text.startswith("-") and _PLAIN.fullmatch(text[1:]):
        raise PydanticCustomError("not_positive", "must be greater than zero")
    match = _PLAIN.fullmatch(text)
    if match is None:
        raise PydanticCustomError(
            "malformed_decimal",
            'must be a plain decimal string like "12.5" (no sign, exponent, NaN or Infinity)',
        )
    places = match.group(3) or ""
    if len(places) > AMOUNT_PLACES or len(match.group(1)) > INTEGER_DIGITS:
        raise PydanticCustomError(
            "too_many_decimals", f"has more than {INTEGER_DIGITS} digits or {AMOUNT_PLACES} decimal places"
        )
    value = Decimal(text)
    if value == 0:
        raise PydanticCustomError("not_positive", "must be greater than zero")
    return value


def _checked(text: str) -> str:
    parse_amount(text)
    return text


# Stays a string in the model (and the OpenAPI schema); `parse_amount` gives the Decimal.
AmountText = Annotated[
    str,
    AfterValidator(_checked),
    Field(json_schema_extra={"pattern": DECIMAL_PATTERN, "examples": ["0.015"]}),
]


def amount_text(value: Decimal | None) -> str | None:
    """Wire text of a stored amount that may be missing, by exchange.amounts' one rule."""
    return None if value is None else plain_amount(value)
