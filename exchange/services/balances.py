"""The one way an operator changes a balance: deposit, withdraw, adjust.

Admin screens call `request_balance_change`, which validates the request and
puts it on the accounts stream of the user; the accounts worker, the only
writer of balances, applies it and writes its ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange.models import Asset, Balance, LedgerKind
from exchange.models.fields import AMOUNT_PLACES
from exchange.pipeline.order_entry import OrderEntry, Queued
from spot.redis_connection import redis_client

OPERATOR_KINDS = (LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL, LedgerKind.ADJUSTMENT)


class BalanceChangeRefused(Exception):
    """The change breaks a rule (bad amount, unknown asset, too little available); nothing was sent."""


@dataclass(frozen=True)
class BalanceChange:
    user_id: int
    asset_code: str
    kind: LedgerKind
    # Positive for deposits and withdrawals; signed for adjustments.
    amount: Decimal
    reference: str = ""
    operator_id: int | None = None
    # One id per operator request: a retried call or a form sent twice enqueues it once.
    request_id: str | None = None


def request_balance_change(change: BalanceChange) -> Queued:
    """Queue the change for the accounts worker (once per request id): its stream entry."""
    delta = _signed_delta(change)
    asset = Asset.objects.filter(code=change.asset_code).first()
    if asset is None:
        raise BalanceChangeRefused(f"unknown asset {change.asset_code}")
    if decimal_places(delta) > asset.display_precision:
        raise BalanceChangeRefused(
            f"{asset.code} amounts have at most {asset.display_precision} decimal places"
        )
    if delta < 0:
        # Checked again by the accounts worker, which has the final word; this
        # catches the obvious case while the operator is still on the form.
        available = (
            Balance.objects.filter(user_id=change.user_id, asset=asset)
            .values_list("available", flat=True)
            .first()
        )
        if (available or Decimal(0)) + delta < 0:
            raise BalanceChangeRefused(f"{asset.code} available is {available or 0}, cannot apply {delta:+}")
    return OrderEntry(redis_client()).change_funds(
        change.user_id,
        asset.code,
        change.kind,
        change.amount,
        change.reference[:128],
        change.operator_id,
        change.request_id,
    )


def decimal_places(value: Decimal) -> int:
    """Places after the point that carry a digit: 1.50 has 1, 100 has 0."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only
    return max(0, -exponent)


def _signed_delta(change: BalanceChange) -> Decimal:
    amount = change.amount
    if not amount.is_finite():
        raise BalanceChangeRefused("amount must be a finite number")
    if decimal_places(amount) > AMOUNT_PLACES:
        raise BalanceChangeRefused(f"amount has more than {AMOUNT_PLACES} decimal places")
    if change.kind == LedgerKind.ADJUSTMENT:
        if amount == 0:
            raise BalanceChangeRefused("an adjustment must not be zero")
        return amount
    if amount <= 0:
        raise BalanceChangeRefused("amount must be positive")
    if change.kind == LedgerKind.DEPOSIT:
        return amount
    if change.kind == LedgerKind.WITHDRAWAL:
        return -amount
    raise BalanceChangeRefused(f"{change.kind} is not an operator balance change")
