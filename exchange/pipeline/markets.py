"""Market rules as the workers use them: plain values, loaded once, no queries per order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange.models import Market, MarketStatus
from exchange.routing import SymbolRouter


@dataclass(frozen=True)
class MarketRules:
    market_id: int
    symbol: str
    base: str
    quote: str
    base_asset_id: int
    quote_asset_id: int
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    min_notional: Decimal
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    trading: bool
    shard: int

    @property
    def max_fee_rate(self) -> Decimal:
        return max(self.maker_fee_rate, self.taker_fee_rate)


def load_markets(router: SymbolRouter | None = None) -> dict[str, MarketRules]:
    router = router or SymbolRouter.from_settings()
    rules = {}
    for market in Market.objects.select_related("base", "quote"):
        rules[market.symbol] = MarketRules(
            market_id=market.pk,
            symbol=market.symbol,
            base=market.base.code,
            quote=market.quote.code,
            base_asset_id=market.base_id,
            quote_asset_id=market.quote_id,
            tick_size=market.tick_size.normalize(),
            lot_size=market.lot_size.normalize(),
            min_quantity=market.min_quantity,
            min_notional=market.min_notional,
            maker_fee_rate=market.maker_fee_rate,
            taker_fee_rate=market.taker_fee_rate,
            trading=market.status == MarketStatus.TRADING,
            shard=router.shard_for_market(market),
        )
    return rules
