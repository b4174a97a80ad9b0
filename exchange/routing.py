"""Which worker shard owns what: symbols to matching shards, users to accounts shards.

Adding a shard is configuration (SYMBOL_SHARDS, ACCOUNT_SHARDS, a market's
shard override), never code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings


class RoutableMarket(Protocol):
    symbol: str
    shard_override: int | None


@dataclass(frozen=True)
class SymbolRouter:
    shard_map: Mapping[str, int]
    default_shard: int
    overrides: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, overrides: Mapping[str, int] | None = None) -> SymbolRouter:
        return cls(settings.SYMBOL_SHARDS, settings.SYMBOL_DEFAULT_SHARD, overrides or {})

    def shard_for(self, symbol: str) -> int:
        override = self.overrides.get(symbol)
        if override is not None:
            return override
        base = symbol.split("/", 1)[0].lower()
        return self.shard_map.get(base, self.default_shard)

    def shard_for_market(self, market: RoutableMarket) -> int:
        if market.shard_override is not None:
            return market.shard_override
        return self.shard_for(market.symbol)

    def configured_shards(self) -> list[int]:
        return sorted({*self.shard_map.values(), self.default_shard, *self.overrides.values()})


def account_shard_for(user_id: int, account_shards: int | None = None) -> int:
    """Accounts shards are numbered from 0: user_id % ACCOUNT_SHARDS."""
    shards = settings.ACCOUNT_SHARDS if account_shards is None else account_shards
    return user_id % shards
