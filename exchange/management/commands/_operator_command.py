"""What the operators' commands share: `--operator`, the audit record, users and amounts from text.

Each command does what the admin does, through the same service, prints
one clear result line, writes its OperatorAction (under `--operator`, else
the OS user), and exits non-zero with a message on error (CommandError).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.services import operator_log


class OperatorCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--operator", default=None, help="Who is acting, for the audit trail (default: the OS user)."
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        self.operator = operator_log.command_operator(options.get("operator"))
        try:
            return super().execute(*args, **options)
        except redis.RedisError as exc:
            raise CommandError(f"Redis is unreachable: {exc}") from None

    def record(self, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        operator_log.record(self.operator, action, target, detail, via=operator_log.COMMAND)

    def done(self, message: str) -> None:
        self.stdout.write(self.style.SUCCESS(message))


def user_named(username: str) -> User:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user


def operator_user_id(operator: str) -> int | None:
    """The operator's own user id, when they have an account (the ledger's created_by)."""
    return get_user_model().objects.filter(username=operator).values_list("pk", flat=True).first()


def decimal_argument(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"{name}: {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise CommandError(f"{name}: {text!r} is not a finite number")
    return value
