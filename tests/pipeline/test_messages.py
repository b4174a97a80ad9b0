"""Stream entries are compact JSON; a Decimal that reaches them is written as its text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.pipeline.messages import MalformedEntry, decode, dumps, encode


def test_plain_values_and_decimals_both_encode_and_read_back() -> None:
    assert dumps({"t": "place", "uid": 7, "px": "100.5", "po": False}) == (
        b'{"t":"place","uid":7,"px":"100.5","po":false}'
    )
    assert dumps({"amount": Decimal("1.50"), "list": [Decimal("-0.000001"), None]}) == (
        b'{"amount":"1.50","list":["-0.000001",null]}'
    )
    fields = encode({"t": "funds", "amount": Decimal("2E+1")})
    assert decode({b"d": fields["d"]}) == {"t": "funds", "amount": "2E+1"}  # type: ignore[dict-item]


def test_an_entry_that_is_not_a_typed_object_is_malformed() -> None:
    for raw in (b"[1]", b'{"x": 1}', b"not json"):
        with pytest.raises(MalformedEntry):
            decode({b"d": raw})
