"""`manage.py provision_load_users`: traders for a load test, with API keys and funds, and the keys file.

    manage.py provision_load_users --count 200 --prefix load \\
        --deposit USDT=1000000,BTC=100 --out var/load-users.json

Users are `{prefix}-0000`, `{prefix}-0001`, ...; each gets one trading API
key (Ed25519, label "load") and one deposit per asset, queued exactly as the
admin's funds form queues it: a command on the user's accounts stream, once
per request id, applied by the accounts worker. Running it again changes
nothing: a user's key in the file is kept while it is active (a key missing
from the file is replaced, since its private half was never stored), and a
deposit already in the ledger or already queued is not queued again.
The file holds private keys: it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.models import ApiKey, Asset, LedgerEntry, LedgerKind
from exchange.services.api_keys import issue_api_key
from exchange.services.balances import BalanceChange, BalanceChangeRefused, request_balance_change

KEY_LABEL = "load"
REFERENCE = "provision_load_users"


class Command(BaseCommand):
    help = "Create load-test traders with trading API keys and deposits; write their keys file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many users.")
        parser.add_argument("--prefix", default="load", help="Usernames are PREFIX-0000, PREFIX-0001, ...")
        parser.add_argument(
            "--deposit",
            default="",
            help="What each user is given once, e.g. USDT=1000000,BTC=100.",
        )
        parser.add_argument("--out", default=None, help="The keys file (default: VAR_DIR/load-users.json).")

    def handle(self, *args: Any, **options: Any) -> None:
        count, prefix = options["count"], options["prefix"]
        if count < 1:
            raise CommandError("--count must be at least 1")
        deposits = parse_deposits(options["deposit"])
        path = Path(options["out"] or Path(settings.VAR_DIR) / "load-users.json")
        known = {user["username"]: user for user in read_keys_file(path).get("users", [])}
        users, queued = [], 0
        for index in range(count):
            username = f"{prefix}-{index:04d}"
            user = _user(username)
            users.append(_key_entry(user, known.get(username)))
            for code, amount in deposits.items():
                queued += _deposit_once(user, code, amount)
        write_keys_file(path, {"users": users, "deposit": {code: str(v) for code, v in deposits.items()}})
        self.stdout.write(
            f"{count} load users ({prefix}-0000 ... {prefix}-{count - 1:04d}), {queued} deposits queued;"
            f" keys in {path}"
        )


def parse_deposits(text: str) -> dict[str, Decimal]:
    deposits: dict[str, Decimal] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        code, _, amount = part.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise CommandError(f"--deposit: {part!r} is not ASSET=AMOUNT") from None
        if not value.is_finite() or value <= 0:
            raise CommandError(f"--deposit: {part!r} needs a positive amount")
        if not Asset.objects.filter(code=code.strip().upper()).exists():
            raise CommandError(f"--deposit: unknown asset {code!r}")
        deposits[code.strip().upper()] = value
    return deposits


def read_keys_file(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def write_keys_file(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=1)


def _user(username: str) -> User:
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _key_entry(user: User, known: dict[str, Any] | None) -> dict[str, Any]:
    """The user's entry in the keys file: the key it already names while active, else a new one."""
    if known and known.get("private_key"):
        active = ApiKey.objects.filter(
            user=user, key_id=known.get("key_id"), revoked_at__isnull=True, can_trade=True
        ).exists()
        if active:
            return {**known, "user_id": user.pk}
    # Keys made for an earlier file that is lost: nobody holds their private half any more.
    for stale in ApiKey.objects.filter(user=user, label=KEY_LABEL, revoked_at__isnull=True):
        stale.revoke()
    issued = issue_api_key(user, label=KEY_LABEL, can_read=True, can_trade=True)
    return {
        "username": user.get_username(),
        "user_id": user.pk,
        "key_id": issued.api_key.key_id,
        "private_key": issued.private_key,
    }


def _deposit_once(user: User, code: str, amount: Decimal) -> int:
    """Queue the deposit unless the ledger has it; the request id stops a second queueing meanwhile."""
    if LedgerEntry.objects.filter(
        user=user, asset__code=code, kind=LedgerKind.DEPOSIT, reference=REFERENCE
    ).exists():
        return 0
    try:
        queued = request_balance_change(
            BalanceChange(
                user.pk,
                code,
                LedgerKind.DEPOSIT,
                amount,
                REFERENCE,
                request_id=f"{REFERENCE}:{user.pk}:{code}",
            )
        )
    except BalanceChangeRefused as exc:
        raise CommandError(f"deposit of {amount} {code} to {user.get_username()}: {exc}") from None
    return 0 if queued.duplicate else 1
