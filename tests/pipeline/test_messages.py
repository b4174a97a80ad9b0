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


def test_fields_of_the_wrong_type_are_malformed() -> None:
    from exchange.pipeline.messages import optional_decimal, require_int, require_str

    assert (require_int({"n": 3}, "n"), require_str({"s": "x"}, "s")) == (3, "x")
    assert optional_decimal({"d": "1.5"}, "d") == Decimal("1.5")
    assert optional_decimal({}, "d") is None
    for bad in (True, 1.0, "3", None):
        with pytest.raises(MalformedEntry):
            require_int({"n": bad}, "n")
    for bad in ("", 3, None):
        with pytest.raises(MalformedEntry):
            require_str({"s": bad}, "s")
    for bad in (1.5, 2, "NaN", "Infinity", "x"):
        with pytest.raises(MalformedEntry):
            optional_decimal({"d": bad}, "d")
