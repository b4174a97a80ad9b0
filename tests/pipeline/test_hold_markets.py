"""The accounts stage's index of each user's markets, which a cancel-all reads."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.accounts_stage import AccountsState, Hold
from exchange.pipeline.client_order_ids import RecentClientOrderIds

ALICE, BOB = 1, 2


def hold(order_id: int, user_id: int, symbol: str) -> Hold:
    return Hold(order_id, user_id, "USDT", symbol, f"c{order_id}", Decimal(1), Decimal(1), Decimal(1))


def test_it_indexes_the_markets_of_loaded_and_added_holds_and_forgets_done_ones() -> None:
    state = AccountsState({}, {1: hold(1, ALICE, "BTC/USDT")}, RecentClientOrderIds(1000), set(), {})
    state.add_hold(hold(2, ALICE, "ETH/USDT"))
    state.add_hold(hold(3, ALICE, "ETH/USDT"))
    state.add_hold(hold(4, BOB, "BTC/USDT"))
    assert sorted(state.hold_markets[ALICE]) == ["BTC/USDT", "ETH/USDT"]

    assert state.pop_hold(2) is not None
    assert sorted(state.hold_markets[ALICE]) == ["BTC/USDT", "ETH/USDT"]  # order 3 still holds there
    assert state.pop_hold(3) is not None
    assert state.pop_hold(3) is None
    assert sorted(state.hold_markets[ALICE]) == ["BTC/USDT"]
    state.pop_hold(1)
    assert ALICE not in state.hold_markets
    assert list(state.hold_markets[BOB]) == ["BTC/USDT"]
