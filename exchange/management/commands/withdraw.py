"""`manage.py withdraw alice USDT 10 [--reference TX]`: queued to the accounts worker, as the admin's form."""

from __future__ import annotations

from exchange.management.commands._funds_command import FundsCommand
from exchange.models import LedgerKind


class Command(FundsCommand):
    help = (
        "Debit a user's available balance (a withdrawal); the accounts worker refuses it if funds fall short."
    )
    kind = LedgerKind.WITHDRAWAL
