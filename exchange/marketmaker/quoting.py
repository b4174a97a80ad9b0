"""What the market maker wants on the book, and how to get there from what it has: no I/O.

A reference price random-walks; around it the maker quotes `levels` bids and
asks, the first `spread_bp / 2` away from the reference, the next each
`step_bp` further. Moving from the quotes it has to the ones it wants costs
as few requests as it can: a quote already right stays, a wrong one on the
same side is amended to a wanted price, the rest are cancelled or placed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

BP = Decimal(10_000)


@dataclass(frozen=True)
class Grid:
    """A market's rules as the API gives them (GET /markets/{base}/{quote})."""

    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal

    def price_down(self, price: Decimal) -> Decimal:
        return (price / self.tick_size).to_integral_value(ROUND_FLOOR) * self.tick_size

    def price_up(self, price: Decimal) -> Decimal:
        return (price / self.tick_size).to_integral_value(ROUND_CEILING) * self.tick_size

    def quantity_for(self, notional: Decimal, price: Decimal) -> Decimal:
        """The quantity worth about `notional` at `price`, on the lot grid and never below min notional."""
        lots = (notional / price / self.lot_size).to_integral_value(ROUND_FLOOR)
        least = (self.min_notional / price / self.lot_size).to_integral_value(ROUND_CEILING)
        return max(lots, least, Decimal(1)) * self.lot_size


@dataclass(frozen=True)
class Quote:
    side: str  # BUY or SELL
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class Resting:
    """One of the maker's open orders, as GET /orders lists it."""

    order_id: str
    side: str
    price: Decimal
    quantity: Decimal  # what is left to execute
    executed: Decimal = Decimal(0)


@dataclass
class Plan:
    amend: list[tuple[Resting, Quote]] = field(default_factory=list)
    cancel: list[Resting] = field(default_factory=list)
    place: list[Quote] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.amend) + len(self.cancel) + len(self.place)


@dataclass
class RandomWalk:
    """A price that moves by a normal step of `volatility_bp` (one standard deviation) per step."""

    price: Decimal
    volatility_bp: int
    rng: random.Random

    def step(self) -> Decimal:
        # Geometric, so the price never reaches zero and moves in proportion to itself.
        factor = Decimal(math.exp(self.rng.gauss(0.0, self.volatility_bp / 10_000)))
        with localcontext() as context:
            context.prec = 12  # a reference, rounded to the grid before any order uses it
            self.price = +(self.price * factor)
        return self.price


def quotes(
    reference: Decimal, grid: Grid, levels: int, spread_bp: int, step_bp: int, notional: Decimal
) -> list[Quote]:
    """Bids best first, then asks best first: `levels` a side, on the grid, never crossing each other."""
    bids: list[Quote] = []
    asks: list[Quote] = []
    for level in range(levels):
        distance = (Decimal(spread_bp) / 2 + step_bp * level) / BP
        bid = grid.price_down(reference * (1 - distance))
        ask = grid.price_up(reference * (1 + distance))
        # A coarse tick can round two levels onto one price: keep them a tick apart.
        if bids and bid >= bids[-1].price:
            bid = bids[-1].price - grid.tick_size
        if asks and ask <= asks[-1].price:
            ask = asks[-1].price + grid.tick_size
        if not asks and ask <= bid:
            ask = bid + grid.tick_size
        if bid > 0:
            bids.append(Quote("BUY", bid, grid.quantity_for(notional, bid)))
        asks.append(Quote("SELL", ask, grid.quantity_for(notional, ask)))
    return bids + asks


def plan(resting: list[Resting], wanted: list[Quote]) -> Plan:
    """The requests that turn `resting` into `wanted`: keep, amend, cancel, place."""
    result = Plan()
    missing = list(wanted)
    stale: list[Resting] = []
    for order in resting:
        match = next(
            (
                quote
                for quote in missing
                if (quote.side, quote.price, quote.quantity) == (order.side, order.price, order.quantity)
            ),
            None,
        )
        if match is None:
            stale.append(order)
        else:
            missing.remove(match)
    for order in stale:
        same_side = next((quote for quote in missing if quote.side == order.side), None)
        if same_side is None:
            result.cancel.append(order)
        else:
            missing.remove(same_side)
            result.amend.append((order, same_side))
    result.place = missing
    return result


def taker_order(
    reference: Decimal, grid: Grid, rng: random.Random, notional: Decimal, reach_bp: int
) -> Quote:
    """An IOC order: a random side, priced `reach_bp` through the reference, 20-100 % of `notional`."""
    side = rng.choice(("BUY", "SELL"))
    reach = Decimal(reach_bp) / BP
    if side == "BUY":
        price = grid.price_up(reference * (1 + reach))
    else:
        price = grid.price_down(reference * (1 - reach))
    share = Decimal(rng.randint(20, 100)) / 100
    return Quote(side, price, grid.quantity_for(notional * share, price))
