"""One round of the demo market: requote every market, and now and then take.

`MarketMaker.step` does one round and returns what it sent, so a test can
drive it round by round; `run_market_maker` calls it every interval. Each
round reads the maker's open orders from GET /orders (the database's view,
a few milliseconds behind the engine), so a round interval well above that
keeps it from placing a quote twice.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

from exchange.marketmaker.client import ApiClient
from exchange.marketmaker.quoting import Grid, Plan, Quote, RandomWalk, Resting, plan, quotes, taker_order

logger = logging.getLogger("spot.market_maker")

# Answers that mean "the order moved on meanwhile" (filled or cancelled): the next round sees it.
_RACED = (404, 409)


@dataclass(frozen=True)
class MakerConfig:
    symbols: tuple[str, ...]
    levels: int
    spread_bp: int
    step_bp: int
    quote_notional: Decimal
    volatility_bp: int
    start_prices: dict[str, Decimal]
    taker_chance: float
    taker_notional: Decimal
    taker_reach_bp: int

    @classmethod
    def from_settings(cls) -> MakerConfig:
        return cls(
            symbols=tuple(settings.MARKET_MAKER_SYMBOLS),
            levels=settings.MARKET_MAKER_LEVELS,
            spread_bp=settings.MARKET_MAKER_SPREAD_BP,
            step_bp=settings.MARKET_MAKER_STEP_BP,
            quote_notional=Decimal(settings.MARKET_MAKER_QUOTE_NOTIONAL),
            volatility_bp=settings.MARKET_MAKER_VOLATILITY_BP,
            start_prices=dict(settings.MARKET_MAKER_START_PRICES),
            taker_chance=settings.MARKET_MAKER_TAKER_PERCENT / 100,
            taker_notional=Decimal(settings.MARKET_MAKER_TAKER_NOTIONAL),
            taker_reach_bp=settings.MARKET_MAKER_TAKER_REACH_BP,
        )


@dataclass
class Round:
    placed: int = 0
    amended: int = 0
    cancelled: int = 0
    taken: int = 0
    refused: list[str] = field(default_factory=list)


class MarketMaker:
    def __init__(
        self, maker: ApiClient, taker: ApiClient | None, config: MakerConfig, rng: random.Random | None = None
    ) -> None:
        self.maker = maker
        self.taker = taker
        self.config = config
        self.rng = rng or random.Random()
        self.grids: dict[str, Grid] = {}
        self.walks: dict[str, RandomWalk] = {}

    def step(self) -> Round:
        """Requote every market once, then maybe take in each; ApiUnreachable ends the round."""
        done = Round()
        for symbol in self.config.symbols:
            if not self._ready(symbol):
                continue
            before = self.walks[symbol].price
            reference = self.walks[symbol].step()
            self._requote(symbol, reference, reference > before, done)
            if self.taker is not None and self.rng.random() < self.config.taker_chance:
                self._take(symbol, reference, done)
        return done

    # ------------------------------------------------------------------ quoting

    def _requote(self, symbol: str, reference: Decimal, rising: bool, done: Round) -> None:
        config = self.config
        wanted = quotes(
            reference,
            self.grids[symbol],
            config.levels,
            config.spread_bp,
            config.step_bp,
            config.quote_notional,
        )
        todo = plan(self._resting(symbol), wanted)
        for order in todo.cancel:
            self._send(done, "cancelled", "DELETE", f"/orders/{order.order_id}")
        for order, quote in self._amend_order(todo, rising):
            body = {"price": str(quote.price), "quantity": str(order.executed + quote.quantity)}
            self._send(done, "amended", "PATCH", f"/orders/{order.order_id}", body)
        for quote in todo.place:
            self._send(done, "placed", "POST", "/orders", _limit(symbol, quote, "GTC"))

    @staticmethod
    def _amend_order(todo: Plan, rising: bool) -> list[tuple[Resting, Quote]]:
        # Move the side the price walks towards first, so a bid never passes the maker's own ask.
        first = "SELL" if rising else "BUY"
        return sorted(todo.amend, key=lambda pair: pair[0].side != first)

    def _resting(self, symbol: str) -> list[Resting]:
        status, page = self.maker.get("/orders", market=symbol, open_only="true", limit=500)
        if status != 200:
            raise MakerError(f"GET /orders {symbol}: {status} {page}")
        return [
            Resting(
                order["order_id"],
                order["side"],
                Decimal(order["price"]),
                Decimal(order["quantity"]) - Decimal(order["executed_quantity"]),
                Decimal(order["executed_quantity"]),
            )
            for order in page["items"]
            if order["type"] == "LIMIT"
        ]

    def _take(self, symbol: str, reference: Decimal, done: Round) -> None:
        assert self.taker is not None
        config = self.config
        order = taker_order(
            reference, self.grids[symbol], self.rng, config.taker_notional, config.taker_reach_bp
        )
        self._send(done, "taken", "POST", "/orders", _limit(symbol, order, "IOC"), self.taker)

    def _send(
        self,
        done: Round,
        counter: str,
        method: str,
        target: str,
        body: Any = None,
        client: ApiClient | None = None,
    ) -> None:
        status, answer = (client or self.maker).request(method, target, body)
        if 200 <= status < 300:
            setattr(done, counter, getattr(done, counter) + 1)
            return
        code = answer.get("code") if isinstance(answer, dict) else None
        done.refused.append(f"{method} {target}: {status} {code}")
        if status in _RACED:
            logger.debug("%s %s: %s %s", method, target, status, code)
        else:
            logger.warning("%s %s refused: %s %s", method, target, status, answer)

    # ---------------------------------------------------------------- markets

    def _ready(self, symbol: str) -> bool:
        """Load a market's grid and starting price the first time; False while it cannot be quoted."""
        if symbol in self.walks:
            return True
        status, market = self.maker.get(f"/markets/{symbol}")
        if status != 200:
            logger.warning("not quoting %s: GET /markets/%s answered %s", symbol, symbol, status)
            return False
        if market["status"] != "trading":
            return False
        grid = Grid(
            Decimal(market["tick_size"]), Decimal(market["lot_size"]), Decimal(market["min_notional"])
        )
        start = self._start_price(symbol)
        if start is None:
            logger.warning(
                "not quoting %s: no trades, no book and no MARKET_MAKER_START_PRICES entry", symbol
            )
            return False
        self.grids[symbol] = grid
        self.walks[symbol] = RandomWalk(start, self.config.volatility_bp, self.rng)
        logger.info("quoting %s around %s", symbol, start)
        return True

    def _start_price(self, symbol: str) -> Decimal | None:
        """The last trade's price, else the middle of the book, else the base asset's configured price."""
        status, ticker = self.maker.get(f"/markets/{symbol}/ticker")
        if status == 200 and ticker.get("last"):
            return Decimal(ticker["last"])
        if status == 200 and ticker.get("best_bid") and ticker.get("best_ask"):
            return (Decimal(ticker["best_bid"]) + Decimal(ticker["best_ask"])) / 2
        return self.config.start_prices.get(symbol.split("/")[0])


class MakerError(Exception):
    """An answer the maker cannot work with (its own orders could not be read)."""


def _limit(symbol: str, quote: Quote, time_in_force: str) -> dict[str, Any]:
    return {
        "market": symbol,
        "side": quote.side,
        "type": "LIMIT",
        "time_in_force": time_in_force,
        "price": str(quote.price),
        "quantity": str(quote.quantity),
    }
