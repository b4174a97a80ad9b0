"""Amount parsing and formatting at the edge."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic_core import PydanticCustomError

from exchange.api.decimals import DECIMAL_PATTERN, amount_text, parse_amount


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", Decimal(1)), ("0.5", Decimal("0.5")), ("123456789012345678.123456789012345678", None)],
)
def test_it_parses_plain_positive_decimals(text, value):
    assert parse_amount(text) == (value if value is not None else Decimal(text))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("nan", "malformed_decimal"),
        ("1e-3", "malformed_decimal"),
        ("+1", "malformed_decimal"),
        ("1.0000000000000000001", "too_many_decimals"),
        ("-0.1", "not_positive"),
        ("0.0", "not_positive"),
    ],
)
def test_it_names_what_is_wrong(text, kind):
    with pytest.raises(PydanticCustomError) as caught:
        parse_amount(text)
    assert caught.value.type == kind


def test_the_documented_pattern_accepts_what_the_parser_accepts():
    import re

    for text in ("1", "0.5", "30000.00", "123456789012345678.123456789012345678"):
        assert re.fullmatch(DECIMAL_PATTERN, text)
    for text in ("1e5", "-1", "NaN", "1.", ".1", "01"):
        assert not re.fullmatch(DECIMAL_PATTERN, text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.010000000000000000"), "0.01"),
        (Decimal("100.00"), "100"),
        (Decimal("0E-18"), "0"),
        (Decimal("1E+3"), "1000"),
        (None, None),
    ],
)
def test_it_writes_amounts_without_trailing_zeros(value, text):
    assert amount_text(value) == text
