"""What deposit and withdraw share: the admin's balance change (exchange.services.balances), from a shell."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from exchange.management.commands._operator_command import (
    OperatorCommand,
    decimal_argument,
    operator_user_id,
    user_named,
)
from exchange.models import LedgerKind
from exchange.services.balances import BalanceChange, BalanceChangeRefused, request_balance_change


class FundsCommand(OperatorCommand):
    kind: LedgerKind

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("asset")
        parser.add_argument("amount")
        parser.add_argument("--reference", default="", help="Ticket or transaction id, kept in the ledger.")
        parser.add_argument(
            "--request-id",
            default=None,
            help="Makes a retried command apply once (default: a new one each run).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["username"])
        change = BalanceChange(
            user_id=user.pk,
            asset_code=options["asset"].upper(),
            kind=self.kind,
            amount=decimal_argument(options["amount"], "amount"),
            reference=options["reference"],
            operator_id=operator_user_id(self.operator),
            request_id=options["request_id"] or uuid.uuid4().hex,
        )
        try:
            queued = request_balance_change(change)
        except BalanceChangeRefused as exc:
            raise CommandError(f"{self.kind.label.lower()} refused: {exc}") from None
        what = f"{self.kind.label.lower()} of {change.amount} {change.asset_code} for {user.get_username()}"
        if queued.duplicate:
            self.done(
                f"{what} was already queued with this request id (entry {queued.entry_id}); not sent again"
            )
            return
        self.record(
            self.kind.value.lower(),
            f"user {user.get_username()}",
            {
                "asset": change.asset_code,
                "amount": str(change.amount),
                "reference": change.reference,
                "entry": queued.entry_id,
            },
        )
        self.done(f"{what} queued (entry {queued.entry_id}); the ledger shows it once applied")
