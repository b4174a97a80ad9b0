"""Market rules for validating orders, reloaded at most every API_MARKET_CACHE_MS.

Order entry reads no database row per order; a halt reaches the API within
the cache lifetime (the accounts stage checks the market again anyway).
"""

from __future__ import annotations

import logging
import time
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Model, QuerySet

from exchange.api.errors import Unavailable
from exchange.pipeline.markets import MarketRules, load_markets
from exchange.routing import SymbolRouter

logger = logging.getLogger(__name__)

Row = TypeVar("Row", bound=Model)


class MarketRulesCache:
    def __init__(self) -> None:
        self._rules: dict[str, MarketRules] = {}
        self._loaded = False
        self._expires = 0.0

    def get(self, symbol: str) -> MarketRules | None:
        now = time.monotonic()
        if now >= self._expires:
            self._reload(now)
        return self._rules.get(symbol)

    def all(self) -> list[MarketRules]:
        now = time.monotonic()
        if now >= self._expires:
            self._reload(now)
        return list(self._rules.values())

    def _reload(self, now: float) -> None:
        try:
            self._rules = load_markets(SymbolRouter.from_settings())
        except DatabaseError as exc:
            if not self._loaded:
                raise Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1) from exc
            # Orders keep flowing on the rules last read; the accounts stage checks them again.
            logger.warning("market rules not reloaded: %s", exc)
        self._loaded = True
        self._expires = now + settings.API_MARKET_CACHE_MS / 1000

    def clear(self) -> None:
        self._expires = 0.0


market_rules = MarketRulesCache()


def of_market(rows: QuerySet[Row], market: str | None) -> QuerySet[Row]:
    """A trader's list narrowed to one market (all, with None); empty, with no query, for a market
    that does not exist: nothing of the trader's can be in it."""
    if market is None:
        return rows
    rules = market_rules.get(market)
    return rows.none() if rules is None else rows.filter(market_id=rules.market_id)
