"""Kill switches: stop a user or a market at once.

- Cancel every order of a user, or of a market, through the pipeline's own
  cancel commands on the accounts streams, so holds are released, balances,
  ledger and events stay right, and the cancel takes its place in stream
  order after every order placed before it.
- Freeze a user: their new orders are refused (403 ACCOUNT_FROZEN) on every
  serving path. The flag is a member of the user's accounts shard's
  `frozen` set, which the order script reads as it appends the order (no
  extra round trip, nothing slips in between); the `FrozenAccount` row is
  the lasting record, from which the accounts workers raise the flags
  again as they take their shard (after Redis lost them), and
  `restore_frozen_flags` at once. Cancels still work for a frozen user.

Each switch writes its OperatorAction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from exchange.models import FrozenAccount, Market
from exchange.pipeline.frozen import raise_frozen_flags
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.order_entry import OrderEntry
from exchange.routing import account_shard_for
from exchange.services import operator_log
from spot.redis_connection import redis_client


@dataclass(frozen=True)
class Switched:
    """What a switch did, for the operator's message."""

    changed: bool  # False: it was already so (frozen twice, unfrozen while not frozen)
    entries: list[str]  # stream entries of the commands sent


def cancel_user_orders(
    user: AbstractBaseUser, operator: str, symbol: str | None = None, via: str = operator_log.ADMIN
) -> Switched:
    """Cancel every open order of the user (in one market if `symbol` is given)."""
    entry = OrderEntry(redis_client()).cancel_all(user.pk, symbol)
    operator_log.record(
        operator,
        "cancel_user_orders",
        f"user {user.get_username()}",
        {"user_id": user.pk, "market": symbol or "", "entry": entry},
        via,
    )
    return Switched(True, [entry])


def cancel_market_orders(market: Market, operator: str, via: str = operator_log.ADMIN) -> Switched:
    """Cancel every open order in the market, of every user (halt it first to stop new ones)."""
    entries = OrderEntry(redis_client()).cancel_market(market.symbol, settings.ACCOUNT_SHARDS)
    operator_log.record(
        operator, "cancel_market_orders", f"market {market.symbol}", {"entries": entries}, via
    )
    return Switched(True, entries)


def freeze_user(
    user: AbstractBaseUser, operator: str, reason: str = "", via: str = operator_log.ADMIN
) -> Switched:
    """Refuse the user's new orders from now on (their open orders stay: cancel them too if need be)."""
    with transaction.atomic():
        _, created = FrozenAccount.objects.get_or_create(
            user_id=user.pk, defaults={"reason": reason[:200], "frozen_by": operator[:150]}
        )
        # The flag goes up even when the row was there: it may be what was lost.
        redis_client().sadd(_frozen_key(user.pk), user.pk)
        operator_log.record(
            operator,
            "freeze_user",
            f"user {user.get_username()}",
            {"user_id": user.pk, "reason": reason, "already_frozen": not created},
            via,
        )
    return Switched(created, [])


def unfreeze_user(user: AbstractBaseUser, operator: str, via: str = operator_log.ADMIN) -> Switched:
    with transaction.atomic():
        deleted, _ = FrozenAccount.objects.filter(user_id=user.pk).delete()
        redis_client().srem(_frozen_key(user.pk), user.pk)
        operator_log.record(
            operator,
            "unfreeze_user",
            f"user {user.get_username()}",
            {"user_id": user.pk, "was_frozen": bool(deleted)},
            via,
        )
    return Switched(bool(deleted), [])


def is_frozen(user_id: int) -> bool:
    return FrozenAccount.objects.filter(user_id=user_id).exists()


def restore_frozen_flags() -> int:
    """Raise every frozen user's flag again (after Redis lost its data); how many users are frozen.

    The accounts workers do the same as they take their shard; this is for
    an operator who will not wait for that (manage.py freeze_user --restore-flags).
    """
    client = redis_client()
    return sum(
        raise_frozen_flags(client, accounts_keys(shard), shard, settings.ACCOUNT_SHARDS)
        for shard in range(settings.ACCOUNT_SHARDS)
    )


def _frozen_key(user_id: int) -> str:
    return accounts_keys(account_shard_for(user_id)).frozen
