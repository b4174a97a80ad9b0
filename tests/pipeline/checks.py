"""Whole-system checks shared by the pipeline tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from exchange.models import Balance, LedgerEntry, Order, OrderHold, Trade
from exchange.pipeline.keys import matching_keys
from exchange.pipeline.messages import decode


def balance(user: Any, code: str) -> tuple[Decimal, Decimal]:
    """A user's (available, locked) in one asset; zeros when no row was made yet."""
    row = Balance.objects.filter(user=user, asset__code=code).first()
    return (row.available, row.locked) if row else (Decimal(0), Decimal(0))


def assert_money_is_conserved() -> None:
    """Per asset: what all accounts hold (the fee account included) = deposits - withdrawals."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    for code, available, locked in Balance.objects.values_list("asset__code", "available", "locked"):
        held[code] += available + locked
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for code, delta in LedgerEntry.objects.filter(
        kind__in=["DEPOSIT", "WITHDRAWAL", "ADJUSTMENT"]
    ).values_list("asset__code", "available_delta"):
        moved[code] += delta
    assert {k: v for k, v in held.items() if v} == {k: v for k, v in moved.items() if v}


def assert_ledger_explains_balances() -> None:
    """Replaying the ledger gives every balance, and no balance is negative."""
    # Summed here, in Decimal: SQLite would sum in floats.
    available: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    locked: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for user_id, asset_id, available_delta, locked_delta in LedgerEntry.objects.values_list(
        "user_id", "asset_id", "available_delta", "locked_delta"
    ):
        available[(user_id, asset_id)] += available_delta
        locked[(user_id, asset_id)] += locked_delta
    for balance in Balance.objects.all():
        key = (balance.user_id, balance.asset_id)
        assert balance.available >= 0 and balance.locked >= 0
        assert (available[key], locked[key]) == (balance.available, balance.locked), balance


def assert_orders_agree_with_trades() -> None:
    """Each order's executed quantity is the sum of its fills; no order fills beyond its size."""
    executed: dict[int, Decimal] = defaultdict(Decimal)
    for maker, taker, quantity in Trade.objects.values_list("maker_order_id", "taker_order_id", "quantity"):
        executed[maker] += quantity
        executed[taker] += quantity
    for order in Order.objects.all():
        assert order.executed_quantity == executed.get(order.pk, Decimal(0)), order.pk
        if order.quantity is not None:
            assert order.executed_quantity <= order.quantity
            # FILLED means all of it: an order stopped short ends EXPIRED (ADR 0002).
            assert order.status != "FILLED" or order.executed_quantity == order.quantity, order.pk


def assert_no_funds_locked_without_open_orders() -> None:
    held: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for hold in OrderHold.objects.filter(is_open=True):
        held[(hold.user_id, hold.asset_id)] += hold.remaining
    for balance in Balance.objects.all():
        assert balance.locked == held.get((balance.user_id, balance.asset_id), Decimal(0)), balance


def assert_places_forwarded_once(redis_conn: Any, count: int, shard: int = 1) -> None:
    """The accounts stage forwarded `count` places to the matching shard, none of them twice."""
    forwarded = [
        command["oid"]
        for _, fields in redis_conn.xrange(matching_keys(shard).stream)
        for _, commands in decode(fields)["g"]
        for command in commands
        if command["t"] == "place"
    ]
    assert len(forwarded) == len(set(forwarded)) == count


def funded_and_checked(line: Any, deposits: list[tuple[Any, str, str]]) -> Iterator[Any]:
    """A fixture's body: the deposits made and settled, the pipeline yielded, and afterwards
    every whole-system check of this module that holds whatever the test did."""
    for user, asset, amount in deposits:
        line.deposit(user, asset, amount)
    line.run()
    yield line
    assert_money_is_conserved()
    assert_ledger_explains_balances()
    assert_orders_agree_with_trades()
    assert_no_funds_locked_without_open_orders()
