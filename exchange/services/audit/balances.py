"""The balance checks: none negative, the ledger explains each, locked = open holds, money conserved.

Balances, ledger entries and holds of one user are written by one accounts
worker in one transaction per batch, so within a snapshot the first three
checks hold exactly, however busy the exchange. Conservation spans users of
different accounts shards and the fee account: a trade's legs reach their
workers at different moments, so the settlements still in the accounts
streams are added to what the snapshot holds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from exchange.amounts import amount_text
from exchange.models import Balance, LedgerEntry, LedgerKind, OrderHold
from exchange.services.audit.report import CheckResult
from exchange.services.audit.snapshot import sums_by
from exchange.services.audit.streams import StreamContents

ZERO = Decimal(0)
EXTERNAL_KINDS = (LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL, LedgerKind.ADJUSTMENT)


def no_negative_balances(assets: dict[int, str]) -> CheckResult:
    result = CheckResult("no negative balance", {"balances": Balance.objects.count()})
    negative = Balance.objects.filter(Q(available__lt=0) | Q(locked__lt=0)).order_by("user_id", "asset_id")
    for user_id, asset_id, available, locked in negative.values_list(
        "user_id", "asset_id", "available", "locked"
    ):
        result.fail(
            f"user {user_id} {assets[asset_id]}: available {amount_text(available)},"
            f" locked {amount_text(locked)}"
        )
    return result


def ledger_explains_balances(assets: dict[int, str]) -> CheckResult:
    """Per account and asset: Σ available deltas = available, Σ locked deltas = locked."""
    replayed = sums_by(
        LedgerEntry.objects.all(), ("user_id", "asset_id"), ("available_delta", "locked_delta")
    )
    result = CheckResult("ledger explains balances", {"balances": 0, "accounts in ledger": len(replayed)})
    balances = Balance.objects.order_by("user_id", "asset_id").values_list(
        "user_id", "asset_id", "available", "locked"
    )
    for user_id, asset_id, available, locked in balances.iterator(chunk_size=5000):
        result.checked["balances"] += 1
        ledger_available, ledger_locked = replayed.pop((user_id, asset_id), (ZERO, ZERO))
        if (ledger_available, ledger_locked) != (available, locked):
            result.fail(
                f"user {user_id} {assets[asset_id]}: balance {amount_text(available)} available"
                f" + {amount_text(locked)} locked, ledger {amount_text(ledger_available)}"
                f" + {amount_text(ledger_locked)}"
            )
    for (user_id, asset_id), (ledger_available, ledger_locked) in sorted(replayed.items()):
        if ledger_available or ledger_locked:
            result.fail(
                f"user {user_id} {assets[asset_id]}: no balance row, ledger {amount_text(ledger_available)}"
                f" available + {amount_text(ledger_locked)} locked"
            )
    return result


def locked_equals_open_holds(assets: dict[int, str]) -> CheckResult:
    """Per account and asset: locked = Σ what the open orders may still spend."""
    held = sums_by(OrderHold.objects.filter(is_open=True), ("user_id", "asset_id"), ("remaining",))
    result = CheckResult(
        "locked equals open holds",
        {"balances": 0, "open holds": OrderHold.objects.filter(is_open=True).count()},
    )
    excess = dict.fromkeys(assets, ZERO)
    balances = Balance.objects.order_by("user_id", "asset_id").values_list("user_id", "asset_id", "locked")
    for user_id, asset_id, locked in balances.iterator(chunk_size=5000):
        result.checked["balances"] += 1
        (holds,) = held.pop((user_id, asset_id), (ZERO,))
        excess[asset_id] += locked - holds
        if holds != locked:
            result.fail(
                f"user {user_id} {assets[asset_id]}: locked {amount_text(locked)},"
                f" open holds {amount_text(holds)}"
            )
    for (user_id, asset_id), (holds,) in sorted(held.items()):
        excess[asset_id] -= holds
        if holds:
            result.fail(f"user {user_id} {assets[asset_id]}: no balance row, open holds {amount_text(holds)}")
    # Per asset, locked minus open holds: a sum can hide offsetting accounts, the findings do not.
    result.measures = {assets[asset_id]: amount for asset_id, amount in excess.items()}
    return result


def money_is_conserved(assets: dict[int, str], streams: StreamContents) -> CheckResult:
    """Per asset: Σ(available + locked) of all accounts + settlements in flight = external flows.

    External flows: deposits - withdrawals ± adjustments, from the ledger.
    """
    held = sums_by(Balance.objects.all(), ("asset_id",), ("available", "locked"))
    external = sums_by(
        LedgerEntry.objects.filter(kind__in=EXTERNAL_KINDS), ("asset_id",), ("available_delta",)
    )
    in_flight: dict[str, Decimal] = {}
    for (_, code), delta in streams.pending_legs.items():
        in_flight[code] = in_flight.get(code, ZERO) + delta
    result = CheckResult("money is conserved", {"assets": len(assets)}, in_flight=streams.pending_settlements)
    for asset_id, code in sorted(assets.items(), key=lambda item: item[1]):
        available, locked = held.get(asset_id, (ZERO, ZERO))
        (flows,) = external.get(asset_id, (ZERO,))
        pending = in_flight.get(code, ZERO)
        difference = available + locked + pending - flows
        result.measures[code] = difference
        if difference:
            result.fail(
                f"{code}: accounts hold {amount_text(available + locked)}"
                f" + in flight {amount_text(pending)} != deposits - withdrawals ± adjustments"
                f" {amount_text(flows)} (off by {'+' if difference > 0 else ''}{amount_text(difference)})"
            )
    return result
