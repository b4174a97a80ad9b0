"""The demo traders' users, keys and funds: made when missing, as an operator would make them.

A key's private half is shown once when it is issued (exchange.services.api_keys),
so it is kept in a file readable by its owner only; a key the file no longer
names is revoked and replaced. Funds arrive as deposits through the admin's
path (exchange.services.balances), once per user and asset.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from exchange.models import ApiKey, LedgerEntry, LedgerKind
from exchange.services.api_keys import issue_api_key
from exchange.services.balances import BalanceChange, BalanceChangeRefused, request_balance_change

logger = logging.getLogger("spot.market_maker")
KEY_LABEL = "market maker"
DEPOSIT_REFERENCE = "market maker"


@dataclass(frozen=True)
class TraderKey:
    username: str
    user_id: int
    key_id: str
    private_key: str


def ensure_trader(username: str, funds: dict[str, Decimal], keys_file: Path) -> TraderKey:
    """The trader's user, an active trading key and its deposits, each made if missing."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    keys = _read(keys_file)
    known = keys.get(username)
    if not (isinstance(known, dict) and _active(user, known)):
        for stale in ApiKey.objects.filter(user_id=user.pk, label=KEY_LABEL, revoked_at__isnull=True):
            stale.revoke()
        issued = issue_api_key(user, label=KEY_LABEL, can_read=True, can_trade=True)
        assert issued.private_key is not None
        known = {"key_id": issued.api_key.key_id, "private_key": issued.private_key}
        keys[username] = known
        _write(keys_file, keys)
    for code, amount in funds.items():
        _deposit_once(user, code, amount)
    return TraderKey(username, int(user.pk), known["key_id"], known["private_key"])


def _active(user: AbstractBaseUser, known: dict[str, Any]) -> bool:
    active = ApiKey.objects.filter(user_id=user.pk, key_id=known.get("key_id"), revoked_at__isnull=True)
    return bool(known.get("private_key")) and active.filter(can_trade=True).exists()


def _deposit_once(user: AbstractBaseUser, code: str, amount: Decimal) -> None:
    """Queue the deposit unless the ledger has it; the request id stops a second queueing meanwhile."""
    if LedgerEntry.objects.filter(
        user_id=user.pk, asset__code=code, kind=LedgerKind.DEPOSIT, reference=DEPOSIT_REFERENCE
    ).exists():
        return
    try:
        request_balance_change(
            BalanceChange(
                int(user.pk),
                code,
                LedgerKind.DEPOSIT,
                amount,
                DEPOSIT_REFERENCE,
                request_id=f"market-maker:{user.pk}:{code}",
            )
        )
    except BalanceChangeRefused as exc:
        # An asset this deployment does not list: its markets are not quoted either.
        logger.warning("no deposit of %s %s to %s: %s", amount, code, user.get_username(), exc)


def _read(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def _write(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private keys: readable by the owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=1)
