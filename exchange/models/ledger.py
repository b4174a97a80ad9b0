"""The ledger: one entry for every change of a balance, with its cause."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from exchange.models.fields import amount_field
from exchange.models.markets import Asset


class LedgerKind(models.TextChoices):
    DEPOSIT = "DEPOSIT", "Deposit"
    WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
    ADJUSTMENT = "ADJUSTMENT", "Adjustment"
    HOLD = "HOLD", "Hold for order"
    RELEASE = "RELEASE", "Release of hold"
    TRADE = "TRADE", "Trade"
    FEE = "FEE", "Fee"


class LedgerEntry(models.Model):
    id = models.BigIntegerField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger")
    # No database constraint nor index of its own: assets are never deleted
    # (PROTECT still holds in the ORM) and ledger_user_asset serves the
    # lookups; both cost a write of every entry (ADR 0003, "Fewer index writes").
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    available_delta = amount_field(default=Decimal(0))
    locked_delta = amount_field(default=Decimal(0))
    available_after = amount_field()
    locked_after = amount_field()
    fee = amount_field(
        default=Decimal(0),
        help_text="The trading fee paid in this change (already included in the deltas).",
    )
    order_id = models.BigIntegerField(null=True, blank=True)
    trade_id = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=128, blank=True, help_text="Operator note or external id.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The operator behind a deposit, withdrawal or adjustment.",
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["user", "asset", "-id"], name="ledger_user_asset"),
            models.Index(fields=["order_id"], name="ledger_order"),
            models.Index(fields=["trade_id"], name="ledger_trade"),
            # The live audit's external flows (deposits, withdrawals, adjustments) without
            # reading every entry: a new entry lands at the end of its kind's range.
            models.Index(fields=["kind"], name="ledger_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.asset_id} {self.available_delta:+}"
