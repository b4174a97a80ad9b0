"""Settlement items: short lists from matching to accounts; the older object form still reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.pipeline import settlements
from exchange.pipeline.messages import MalformedEntry, decode, dumps


def test_each_item_reads_back_what_was_settled() -> None:
    fill = settlements.fill(11, 7, 99, "BTC/USDT", "BUY", "0.5", "50.25", "0.05025")
    done = settlements.done(11, 7)
    fee = settlements.fee(1, "USDT", "0.1", 99)
    amended = settlements.amended(11, 7, 3, "99.5", "1.5", "0.75")
    batch = decode({b"d": dumps({"t": "batch", "g": [["1-1", [fill, done, fee, amended]]]})})
    read = [settlements.as_list(item) for item in batch["g"][0][1]]
    assert settlements.read_fill(read[0]) == (
        11, 7, 99, "BTC/USDT", "BUY", Decimal("0.5"), Decimal("50.25"), Decimal("0.05025")
    )  # fmt: skip
    assert settlements.read_done(read[1]) == 11
    assert settlements.read_fee(read[2]) == (1, "USDT", Decimal("0.1"), 99)
    assert settlements.read_amended(read[3]) == (11, 3, Decimal("99.5"), Decimal("1.5"), Decimal("0.75"))


def test_an_item_in_the_object_form_reads_as_its_list() -> None:
    old_fill = {
        "k": "fill", "oid": 11, "uid": 7, "tid": 99, "m": "BTC/USDT", "side": "SELL",
        "base": "0.5", "quote": "50", "fee": "0.05",
    }  # fmt: skip
    assert settlements.as_list(old_fill) == settlements.fill(
        11, 7, 99, "BTC/USDT", "SELL", "0.5", "50", "0.05"
    )
    assert settlements.as_list({"k": "done", "oid": 11, "uid": 7}) == settlements.done(11, 7)
    old_fee = {"k": "fee", "uid": 1, "asset": "USDT", "amount": "0.1", "tid": 99}
    assert settlements.as_list(old_fee) == settlements.fee(1, "USDT", "0.1", 99)


@pytest.mark.parametrize(
    "item",
    [
        ["bogus", 1],
        ["fill", 11, 7],  # too few fields
        ["done", 11, 7, 8],  # too many
        [["fill"]],
        [],
        {"k": "bogus"},
        {"oid": 11},
        "fill",
        7,
        None,
    ],
)
def test_an_item_of_no_known_kind_or_length_is_malformed(item: object) -> None:
    with pytest.raises(MalformedEntry):
        settlements.as_list(item)


@pytest.mark.parametrize(
    "item",
    [
        ["fill", "11", 7, 99, "BTC/USDT", "BUY", "1", "1", "0"],  # an id as text
        ["fill", 11, True, 99, "BTC/USDT", "BUY", "1", "1", "0"],  # a bool is not an id
        ["fill", 11, 7, 99, "BTC/USDT", "HOLD", "1", "1", "0"],  # no such side
        ["fill", 11, 7, 99, None, "BUY", "1", "1", "0"],
        ["fill", 11, 7, 99, "BTC/USDT", "BUY", "NaN", "1", "0"],
        ["fill", 11, 7, 99, "BTC/USDT", "BUY", "1", 1.5, "0"],  # an amount as a float
    ],
)
def test_a_fill_with_a_field_of_the_wrong_type_is_malformed(item: list[object]) -> None:
    with pytest.raises(MalformedEntry):
        settlements.read_fill(settlements.as_list(item))


def test_a_done_or_fee_with_a_field_of_the_wrong_type_is_malformed() -> None:
    for bad in (
        ["done", "11", 7],
        ["fee", 1, "", "0.1", 99],
        ["fee", 1, "USDT", "x", 99],
        ["fee", 1, "USDT", "1", None],
    ):
        with pytest.raises(MalformedEntry):
            item = settlements.as_list(bad)
            settlements.read_done(item) if item[0] == "done" else settlements.read_fee(item)


@pytest.mark.parametrize(
    "item",
    [
        ["amended", "11", 7, 3, "1", "1", "1"],  # an id as text
        ["amended", 11, 7, None, "1", "1", "1"],  # an amend sent before they were numbered
        ["amended", 11, 7, 3, 1.5, "1", "1"],  # a price as a float
        ["amended", 11, 7, 3, "1", "1", "Infinity"],
    ],
)
def test_an_amend_answer_with_a_field_of_the_wrong_type_is_malformed(item: list[object]) -> None:
    with pytest.raises(MalformedEntry):
        settlements.read_amended(settlements.as_list(item))
