"""`manage.py deposit alice USDT 1000 [--reference TX]`: queued for the accounts worker, as in the admin."""

from __future__ import annotations

from exchange.management.commands._funds_command import FundsCommand
from exchange.models import LedgerKind


class Command(FundsCommand):
    help = (
        "Credit a user's balance (a deposit): queued for the accounts worker, which writes the ledger entry."
    )
    kind = LedgerKind.DEPOSIT
