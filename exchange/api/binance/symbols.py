"""Binance's symbols ("BTCUSDT") for the exchange's markets ("BTC/USDT")."""

from __future__ import annotations

import json

from exchange.api.binance.errors import BAD_SYMBOL, BinanceError
from exchange.api.binance.params import Params
from exchange.api.market_rules import market_rules
from exchange.models import Market
from exchange.pipeline.markets import MarketRules


def binance_symbol(symbol: str) -> str:
    return symbol.replace("/", "")


def rules_of(name: str) -> MarketRules:
    """The market a Binance symbol names; -1121 Invalid symbol otherwise."""
    name = name.upper()
    for rules in market_rules.all():
        if rules.base + rules.quote == name:
            return rules
    raise BinanceError(BAD_SYMBOL, "Invalid symbol.")


def market_of(name: str) -> Market:
    rules = rules_of(name)
    market = Market.objects.select_related("base", "quote").filter(id=rules.market_id).first()
    if market is None:
        raise BinanceError(BAD_SYMBOL, "Invalid symbol.")
    return market


def symbols_param(params: Params) -> list[MarketRules] | None:
    """`symbol=X` or `symbols=["X","Y"]` as Binance takes them; None when neither was sent."""
    one = params.text("symbol")
    many = params.text("symbols")
    if one is not None and many is not None:
        raise BinanceError(-1101, "Parameter 'symbol' and 'symbols' cannot both be sent.")
    if one is not None:
        return [rules_of(one)]
    if many is None:
        return None
    try:
        names = json.loads(many)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
    return [rules_of(name) for name in names]
