"""Market rules for validating orders, reloaded at most every API_MARKET_CACHE_MS.

Order entry reads no database row per order; a halt reaches the API within
the cache lifetime (the accounts stage checks the market again anyway).
"""

from __future__ import annotations

import time

from django.conf import settings

from exchange.pipeline.markets import MarketRules, load_markets
from exchange.routing import SymbolRouter


class MarketRulesCache:
    def __init__(self) -> None:
        self._rules: dict[str, MarketRules] = {}
        self._expires = 0.0

    def get(self, symbol: str) -> MarketRules | None:
        now = time.monotonic()
        if now >= self._expires:
            self._rules = load_markets(SymbolRouter.from_settings())
            self._expires = now + settings.API_MARKET_CACHE_MS / 1000
        return self._rules.get(symbol)

    def clear(self) -> None:
        self._expires = 0.0


market_rules = MarketRulesCache()
