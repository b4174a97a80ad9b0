"""The one way an operator changes a balance: deposit, withdraw, adjust.

Admin screens call `request_balance_change` and never touch a balance field.
Until the accounts stage runs, the change is applied here, in one
transaction with its ledger entry; the accounts stage takes it over.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from exchange.ids import IdGenerator
from exchange.models import Asset, Balance, LedgerEntry, LedgerKind
from exchange.models.fields import AMOUNT_PLACES

# Node number reserved for ledger ids made by operator actions.
_OPERATOR_IDS = IdGenerator(node=1023)
OPERATOR_KINDS = (LedgerKind.DEPOSIT, LedgerKind.WITHDRAWAL, LedgerKind.ADJUSTMENT)


class BalanceChangeRefused(Exception):
    """The change would break a rule (negative balance, bad amount); nothing was written."""


@dataclass(frozen=True)
class BalanceChange:
    user_id: int
    asset_code: str
    kind: LedgerKind
    # Positive for deposits and withdrawals; signed for adjustments.
    amount: Decimal
    reference: str = ""
    operator_id: int | None = None


def request_balance_change(change: BalanceChange) -> LedgerEntry:
    delta = _signed_delta(change)
    asset = Asset.objects.filter(code=change.asset_code).first()
    if asset is None:
        raise BalanceChangeRefused(f"unknown asset {change.asset_code}")
    if decimal_places(delta) > asset.display_precision:
        raise BalanceChangeRefused(
            f"{asset.code} amounts have at most {asset.display_precision} decimal places"
        )
    with transaction.atomic():
        # Lock the row so two operators crediting one balance cannot lose an update.
        balance, _ = Balance.objects.select_for_update().get_or_create(user_id=change.user_id, asset=asset)
        new_available = balance.available + delta
        if new_available < 0:
            raise BalanceChangeRefused(
                f"{asset.code} available is {balance.available}, cannot apply {delta:+}"
            )
        balance.available = new_available
        balance.save(update_fields=["available", "updated_at"])
        return LedgerEntry.objects.create(
            id=_OPERATOR_IDS.next_id(),
            user_id=change.user_id,
            asset=asset,
            kind=change.kind,
            available_delta=delta,
            locked_delta=Decimal(0),
            available_after=balance.available,
            locked_after=balance.locked,
            reference=change.reference[:128],
            created_by_id=change.operator_id,
            created_at=timezone.now(),
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
