"""The market maker's quoting: levels on the grid, the fewest requests to requote, the walk, the taker."""

from __future__ import annotations

import random
from decimal import Decimal

from exchange.marketmaker.maker import MarketMaker
from exchange.marketmaker.quoting import Grid, Plan, Quote, RandomWalk, Resting, plan, quotes, taker_order

BTC = Grid(Decimal("0.01"), Decimal("0.00001"), Decimal("5"))
DOGE = Grid(Decimal("0.01"), Decimal("1"), Decimal("5"))


def prices(wanted: list[Quote], side: str) -> list[Decimal]:
    return [quote.price for quote in wanted if quote.side == side]


def test_it_quotes_levels_a_side_around_the_reference_on_the_grid() -> None:
    wanted = quotes(Decimal("30000"), BTC, levels=3, spread_bp=20, step_bp=10, notional=Decimal(500))
    assert prices(wanted, "BUY") == [Decimal("29970.00"), Decimal("29940.00"), Decimal("29910.00")]
    assert prices(wanted, "SELL") == [Decimal("30030.00"), Decimal("30060.00"), Decimal("30090.00")]
    # 500 USDT worth, rounded down to the lot.
    assert wanted[0].quantity == Decimal("0.01668")
    assert all(quote.quantity % BTC.lot_size == 0 and quote.price % BTC.tick_size == 0 for quote in wanted)


def test_a_coarse_tick_keeps_levels_a_tick_apart_and_the_sides_apart() -> None:
    wanted = quotes(Decimal("0.15"), DOGE, levels=3, spread_bp=20, step_bp=10, notional=Decimal(500))
    assert prices(wanted, "BUY") == [Decimal("0.14"), Decimal("0.13"), Decimal("0.12")]
    assert prices(wanted, "SELL") == [Decimal("0.16"), Decimal("0.17"), Decimal("0.18")]


def test_a_quote_is_never_below_the_markets_min_notional() -> None:
    wanted = quotes(Decimal("0.15"), DOGE, levels=2, spread_bp=20, step_bp=10, notional=Decimal("0.5"))
    assert all(quote.price * quote.quantity >= DOGE.min_notional for quote in wanted)


def test_bids_that_would_fall_to_zero_are_left_out() -> None:
    wanted = quotes(Decimal("0.02"), DOGE, levels=3, spread_bp=20, step_bp=10, notional=Decimal(500))
    assert prices(wanted, "BUY") == [Decimal("0.01")]
    assert len(prices(wanted, "SELL")) == 3


def test_requoting_keeps_what_is_right_amends_the_rest_and_cancels_the_surplus() -> None:
    wanted = [Quote("BUY", Decimal(99), Decimal(1)), Quote("SELL", Decimal(101), Decimal(1))]
    resting = [
        Resting("1", "BUY", Decimal(99), Decimal(1)),  # right: stays
        Resting("2", "SELL", Decimal(102), Decimal(1)),  # wrong price: amended
        Resting("3", "SELL", Decimal(103), Decimal(1)),  # no quote left for it: cancelled
    ]
    todo = plan(resting, wanted)
    assert todo.amend == [(resting[1], wanted[1])]
    assert todo.cancel == [resting[2]]
    assert todo.place == [] and todo.requests == 2


def test_a_partly_filled_quote_is_topped_up_and_missing_ones_are_placed() -> None:
    wanted = [Quote("BUY", Decimal(99), Decimal(1)), Quote("BUY", Decimal(98), Decimal(1))]
    partly = Resting("1", "BUY", Decimal(99), Decimal("0.4"), executed=Decimal("0.6"))
    todo = plan([partly], wanted)
    assert todo.amend == [(partly, wanted[0])]
    assert todo.place == [wanted[1]]


def test_nothing_to_send_when_the_book_already_has_the_quotes() -> None:
    wanted = quotes(Decimal("30000"), BTC, levels=2, spread_bp=20, step_bp=10, notional=Decimal(500))
    resting = [Resting(str(n), q.side, q.price, q.quantity) for n, q in enumerate(wanted)]
    assert plan(resting, wanted) == Plan()


def test_amends_move_the_side_the_price_walks_towards_first() -> None:
    bid, ask = Resting("1", "BUY", Decimal(99), Decimal(1)), Resting("2", "SELL", Decimal(101), Decimal(1))
    todo = Plan(
        amend=[(bid, Quote("BUY", Decimal(109), Decimal(1))), (ask, Quote("SELL", Decimal(111), Decimal(1)))]
    )
    assert [order.side for order, _ in MarketMaker._amend_order(todo, rising=True)] == ["SELL", "BUY"]
    assert [order.side for order, _ in MarketMaker._amend_order(todo, rising=False)] == ["BUY", "SELL"]


def test_the_walk_is_reproducible_from_its_seed_and_stays_positive() -> None:
    def path(seed: int) -> list[Decimal]:
        walk = RandomWalk(Decimal("0.15"), volatility_bp=500, rng=random.Random(seed))
        return [walk.step() for _ in range(2000)]

    first = path(7)
    assert first == path(7) != path(8)
    assert min(first) > 0 and len(set(first)) > 1000


def test_a_walk_without_volatility_stays_put() -> None:
    walk = RandomWalk(Decimal("30000"), volatility_bp=0, rng=random.Random(1))
    assert {walk.step() for _ in range(10)} == {Decimal("30000")}


def test_the_taker_crosses_the_reference_by_its_reach() -> None:
    rng = random.Random(3)
    orders = [taker_order(Decimal("30000"), BTC, rng, Decimal(200), reach_bp=50) for _ in range(50)]
    assert {order.side for order in orders} == {"BUY", "SELL"}
    for order in orders:
        expected = Decimal("30150.00") if order.side == "BUY" else Decimal("29850.00")
        assert order.price == expected
        assert BTC.min_notional <= order.price * order.quantity <= Decimal(200)
