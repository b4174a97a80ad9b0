from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchange.models import Market, Order, OrderHold, Trade
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.pipeline.workers import AccountsWorker
from exchange.services.markets import announce_market_change
from tests.pipeline.checks import balance, funded_and_checked
from tests.pipeline.conftest import user_feed


@pytest.fixture
def funded(pipeline, alice, bob):
    yield from funded_and_checked(pipeline, [(alice, "USDT", "10000"), (bob, "BTC", "2"), (bob, "ETH", "10")])


def test_a_market_buy_by_quote_amount_spends_at_most_that_and_releases_the_rest(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.3")
    funded.place(bob, "BTC/USDT", "SELL", price="110.00", quantity="1")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", "MARKET", quote_quantity="50")
    funded.run()
    order = Order.objects.get(pk=buy)
    assert order.status in ("FILLED", "EXPIRED")
    assert order.executed_quote + order.executed_quote * Decimal("0.001") <= Decimal("50")
    assert order.executed_quantity > Decimal("0.3")
    assert balance(alice, "USDT")[1] == 0
    assert balance(alice, "BTC")[0] == order.executed_quantity


def test_an_ioc_order_fills_what_it_can_and_expires_the_rest(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5", time_in_force="IOC")
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.executed_quantity, order.reject_reason) == (
        "EXPIRED",
        Decimal("0.1"),
        "IOC_REMAINDER",
    )
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("10.01"), Decimal(0))


def test_a_fok_order_that_cannot_fill_whole_trades_nothing(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5", time_in_force="FOK")
    funded.run()
    assert Order.objects.get(pk=buy).status == "EXPIRED"
    assert not Trade.objects.exists()
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))


def test_a_post_only_order_that_would_cross_is_not_placed(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.1", post_only=True)
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.reject_reason) == ("EXPIRED", "POST_ONLY_WOULD_CROSS")
    assert not Trade.objects.exists()


def test_a_cancel_releases_the_hold(funded, alice):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    funded.run()
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("90.09"), Decimal("90.09"))
    funded.entry.cancel(alice.pk, buy)
    funded.run()
    assert Order.objects.get(pk=buy).status == "CANCELED"
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))
    assert not OrderHold.objects.get(order_id=buy).is_open


def test_an_order_without_the_funds_is_rejected_and_holds_nothing(funded, alice):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="20000.00", quantity="1")
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.reject_reason) == ("REJECTED", "INSUFFICIENT_FUNDS")
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))


def test_orders_in_two_markets_on_two_shards_share_one_quote_balance(funded, alice, bob):
    assert matching_keys(1).stream != matching_keys(2).stream
    btc = funded.place(alice, "BTC/USDT", "BUY", price="6000.00", quantity="1")
    eth = funded.place(alice, "ETH/USDT", "BUY", price="4000.00", quantity="1")
    funded.run()
    assert Order.objects.get(pk=btc).status == "NEW"
    assert Order.objects.get(pk=eth).reject_reason == "INSUFFICIENT_FUNDS"
    funded.place(bob, "ETH/USDT", "SELL", price="3000.00", quantity="1")
    funded.place(bob, "BTC/USDT", "SELL", price="6000.00", quantity="1")
    funded.run()
    assert Order.objects.get(pk=btc).status == "FILLED"
    assert balance(alice, "BTC") == (Decimal("1"), Decimal(0))
    assert balance(bob, "USDT")[0] == Decimal("6000") - Decimal("6")


def test_reducing_an_order_keeps_it_in_the_book(funded, alice, bob):
    sell = funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="1")
    funded.run()
    funded.entry.amend(bob.pk, sell, Decimal("0.4"), None)
    funded.run()
    order = Order.objects.get(pk=sell)
    assert (order.status, order.quantity) == ("NEW", Decimal("0.4"))
    assert balance(bob, "BTC") == (Decimal("1.6"), Decimal("0.4"))  # the 0.6 no longer offered is free
    funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1", time_in_force="IOC")
    funded.run()
    assert Order.objects.get(pk=sell).status == "FILLED"
    assert balance(bob, "BTC") == (Decimal("1.6"), Decimal(0))


def the_rest_fills_within_its_hold(
    funded: Any, alice: Any, bob: Any, buy: int, price: str, quantity: str, spent: Decimal
) -> None:
    """Alice's buy, `spent` USDT into it, has `quantity` open at `price`: its hold and her locked
    balance cover it, bob's sell fills it, and she has paid exactly for what she bought."""
    rest = Decimal(quantity) * Decimal(price) * Decimal("1.001")
    assert OrderHold.objects.get(order_id=buy).remaining >= rest
    assert balance(alice, "USDT")[1] >= rest
    funded.place(bob, "BTC/USDT", "SELL", price=price, quantity=quantity)
    funded.run()
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert balance(alice, "USDT") == (Decimal("10000") - spent - rest, Decimal(0))


def test_an_amend_after_a_fill_holds_what_the_rest_may_spend_at_the_new_price(funded, alice, bob):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.2")
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.run()
    # Half filled at 100; the rest is moved down to 50 and made bigger: 0.3 open at 50.
    funded.entry.amend(alice.pk, buy, Decimal("0.4"), Decimal("50.00"))
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.price, order.quantity) == ("PARTIALLY_FILLED", Decimal("50"), Decimal("0.4"))
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "50.00", "0.3", spent=Decimal("10.01"))


def test_an_amend_the_engine_refuses_does_not_shrink_the_next_ones_hold(funded, alice, bob):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    funded.run()
    # Below what has filled: the engine refuses it and the order stays 1 at 100.
    funded.entry.amend(alice.pk, buy, Decimal("0.3"), None)
    funded.run()
    assert Order.objects.get(pk=buy).quantity == Decimal("1")
    # A new price only: 0.5 open at 110.
    funded.entry.amend(alice.pk, buy, None, Decimal("110.00"))
    funded.run()
    assert Order.objects.get(pk=buy).price == Decimal("110")
    assert balance(alice, "USDT")[1] == Decimal("55.055")  # 0.5 at 110, and the fee at most
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "110.00", "0.5", spent=Decimal("50.05"))


def test_an_amend_down_releases_what_the_order_no_longer_needs(funded, alice, bob):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    funded.run()
    funded.entry.amend(alice.pk, buy, Decimal("0.4"), None)
    funded.run()
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("40.04"), Decimal("40.04"))
    funded.entry.amend(alice.pk, buy, None, Decimal("50.00"))
    funded.run()
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("20.02"), Decimal("20.02"))
    assert OrderHold.objects.get(order_id=buy).remaining == Decimal("20.02")
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "50.00", "0.4", spent=Decimal(0))


def test_an_answer_to_an_earlier_amend_releases_nothing_a_later_one_may_need(funded, alice, bob):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    funded.run()
    # Both reach the accounts stage before matching answers the first: its
    # answer (the order at 50) must not shrink the hold the second (120) needs.
    funded.entry.amend(alice.pk, buy, None, Decimal("50.00"))
    funded.entry.amend(alice.pk, buy, None, Decimal("120.00"))
    funded.run()
    assert Order.objects.get(pk=buy).price == Decimal("120")
    assert balance(alice, "USDT")[1] == Decimal("120.12")
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "120.00", "1", spent=Decimal(0))


def test_an_amend_after_a_fill_at_a_better_price_releases_what_it_saved(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="90.00", quantity="0.5")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    funded.run()
    # 0.5 bought at 90 (45.045 with the fee) from a hold sized at 100; 0.5 rests at 100.
    funded.entry.amend(alice.pk, buy, None, Decimal("80.00"))
    funded.run()
    assert balance(alice, "USDT")[1] == Decimal("40.04")  # 0.5 at 80, and the fee at most
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "80.00", "0.5", spent=Decimal("45.045"))


def test_a_restarted_accounts_worker_sizes_the_next_amend_from_the_exact_hold(funded, alice, bob):
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="1")
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    funded.run()
    funded.entry.amend(alice.pk, buy, None, Decimal("80.00"))
    funded.run()
    assert balance(alice, "USDT")[1] == Decimal("40.04")  # 0.5 open at 80
    accounts = funded.workers[0]
    accounts.shutdown()
    restarted = funded.workers[0] = AccountsWorker(0, funded.redis)
    assert restarted.become_leader()
    funded.entry.amend(alice.pk, buy, None, Decimal("120.00"))
    restarted.waits_in_read = False
    while restarted.step():
        pass
    restarted._commit()
    # Before matching answers: 0.5 open at 120 (60.06), not the whole size at 120 less what 80 held.
    assert OrderHold.objects.get(order_id=buy).remaining == Decimal("60.06")
    funded.run()
    the_rest_fills_within_its_hold(funded, alice, bob, buy, "120.00", "0.5", spent=Decimal("50.05"))


def test_a_halted_market_rejects_orders_once_the_workers_hear_of_it(funded, alice, btc_usdt):
    Market.objects.filter(pk=btc_usdt.pk).update(status="halted")
    announce_market_change()
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    funded.run()
    assert Order.objects.get(pk=buy).reject_reason == "MARKET_NOT_TRADING"


def test_self_trade_prevention_cancels_the_newest_order(funded, alice, bob):
    funded.deposit(alice, "BTC", "1")
    funded.run()
    funded.place(alice, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5")
    funded.run()
    assert (Order.objects.get(pk=buy).status, Order.objects.get(pk=buy).reject_reason) == (
        "CANCELED",
        "SELF_TRADE",
    )
    assert not Trade.objects.exists()


def test_a_malformed_entry_goes_to_the_dead_letter_stream_and_the_shard_goes_on(funded, alice, redis_conn):
    redis_conn.xadd(accounts_keys(0).stream, {"d": "{not json"})
    redis_conn.xadd(accounts_keys(0).stream, {"d": '{"t": "place", "uid": "alice"}'})
    buy = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    funded.run()
    dead = redis_conn.xrange(accounts_keys(0).dead_letters)
    assert len(dead) == 2
    assert b"not JSON" in dead[0][1][b"reason"]
    assert Order.objects.get(pk=buy).status == "NEW"


def test_a_replayed_settlement_is_applied_once(funded, alice, bob, redis_conn):
    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.1")
    funded.run()
    before = balance(alice, "BTC")
    settlements = [
        (entry_id, fields)
        for entry_id, fields in redis_conn.xrange(accounts_keys(0).stream)
        if b'"t":"batch"' in fields[b"d"]
    ]
    for _, fields in settlements:
        redis_conn.xadd(accounts_keys(0).stream, fields)
    funded.run()
    assert balance(alice, "BTC") == before == (Decimal("0.1"), Decimal(0))


def test_settlements_replayed_in_other_batches_are_applied_once(funded, alice, bob, redis_conn):
    """A restarted matching worker may cut its batches differently: the tag on each group still holds."""
    import json

    funded.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.1")
    funded.place(bob, "BTC/USDT", "SELL", price="101.00", quantity="0.1")
    funded.run()
    accounts = funded.workers[0]
    for _ in range(2):  # two entries on the matching stream, matched in one batch: two groups
        funded.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="0.1")
        accounts.step()
    funded.run()
    before = (balance(alice, "BTC"), balance(alice, "USDT"), balance(bob, "USDT"))
    batches = [
        json.loads(fields[b"d"])
        for _, fields in redis_conn.xrange(accounts_keys(0).stream)
        if b'"t":"batch"' in fields[b"d"]
    ]
    groups = [(batch["p"], group) for batch in batches for group in batch["g"]]
    assert len(groups) >= 2

    def resend(producer: str, some: list[Any]) -> None:
        redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps({"t": "batch", "p": producer, "g": some})})

    for producer, group in groups:  # each group alone
        resend(producer, [group])
    for producer in {producer for producer, _ in groups}:  # and all of them together
        resend(producer, [group for p, group in groups if p == producer])
    funded.run()
    assert (balance(alice, "BTC"), balance(alice, "USDT"), balance(bob, "USDT")) == before
    assert balance(alice, "BTC") == (Decimal("0.2"), Decimal(0))


def test_an_entry_mixing_applied_and_new_groups_applies_only_the_new_ones(pipeline, fee_account, redis_conn):
    import json

    def fee(amount: str) -> dict[str, Any]:
        return {"k": "fee", "uid": fee_account.pk, "asset": "USDT", "amount": amount, "tid": 7}

    first, second = ["1764000000000-1", [fee("1.5")]], ["1764000000000-2", [fee("2")]]
    for groups in ([first], [first, second]):
        redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps({"t": "batch", "p": "{m9}", "g": groups})})
    pipeline.run()
    assert balance(fee_account, "USDT") == (Decimal("3.5"), Decimal(0))


def test_a_bad_group_goes_to_the_dead_letter_stream_and_its_neighbours_are_applied(
    pipeline, fee_account, redis_conn
):
    import json

    fee = {"k": "fee", "uid": fee_account.pk, "asset": "USDT", "amount": "1.5", "tid": 7}
    groups = [
        ["1764000000000-1", [{"k": "bogus"}]],
        ["1764000000000-2", [fee]],
    ]
    redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps({"t": "batch", "p": "{m9}", "g": groups})})
    pipeline.run()
    [(_, dead)] = redis_conn.xrange(accounts_keys(0).dead_letters)
    assert b"bogus" in dead[b"reason"]
    assert json.loads(json.loads(dead[b"fields"])["d"]) == [{"k": "bogus"}]
    assert balance(fee_account, "USDT") == (Decimal("1.5"), Decimal(0))


def test_a_retried_client_order_id_places_one_order(funded, alice):
    first = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1", cid="retry-me")
    second = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1", cid="retry-me")
    funded.run()
    assert first == second
    assert Order.objects.filter(user=alice).count() == 1


def test_a_market_buy_by_base_quantity_buys_only_what_the_funds_pay_for(funded, alice, bob):
    funded.place(bob, "BTC/USDT", "SELL", price="4000.00", quantity="1")
    funded.place(bob, "BTC/USDT", "SELL", price="8000.00", quantity="1")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", "MARKET", quantity="2")
    funded.run()
    order = Order.objects.get(pk=buy)
    # 10,000 USDT: 1 BTC at 4,000 plus what 5,996 buys at 8,000 after fees.
    assert Decimal("1.7") < order.executed_quantity < Decimal("1.75")
    assert order.executed_quote * Decimal("1.001") <= Decimal("10000")
    assert (order.status, order.reject_reason, order.quantity) == (
        "EXPIRED",
        "INSUFFICIENT_FUNDS",
        Decimal("2"),
    )
    assert balance(alice, "USDT")[1] == 0


def test_a_market_buy_by_quantity_that_runs_the_asks_dry_expires_with_its_size(
    funded, alice, bob, redis_conn
):
    funded.place(bob, "BTC/USDT", "SELL", price="1000.00", quantity="0.01")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", "MARKET", quantity="0.04")
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.reject_reason, order.quantity, order.executed_quantity) == (
        "EXPIRED",
        "MARKET_REMAINDER",
        Decimal("0.04"),
        Decimal("0.01"),
    )
    [*_, update] = [u for u in user_feed(redis_conn, alice) if u.get("order_id") == str(buy)]
    assert (update["status"], update["reject_reason"]) == ("EXPIRED", "MARKET_REMAINDER")
    assert balance(alice, "USDT") == (Decimal("10000") - Decimal("10.01"), Decimal(0))


def test_a_market_buy_by_quantity_the_funds_cannot_start_is_rejected(funded, alice, bob):
    # One lot (0.00001 BTC) costs 20,000 USDT; alice has 10,000.
    funded.place(bob, "BTC/USDT", "SELL", price="2000000000.00", quantity="0.00001")
    funded.run()
    buy = funded.place(alice, "BTC/USDT", "BUY", "MARKET", quantity="0.00001")
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.reject_reason) == ("REJECTED", "INSUFFICIENT_FUNDS")
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))


def test_a_quote_market_buy_that_bought_nothing_expires(funded, alice, bob):
    funded.deposit(alice, "BTC", "1")
    funded.run()
    funded.place(alice, "BTC/USDT", "SELL", price="100.00", quantity="0.05")
    funded.place(bob, "BTC/USDT", "SELL", price="100000.00", quantity="0.0001")
    funded.run()
    # Self-trade prevention cancels alice's own ask; 0.50 USDT buys no lot (1 USDT) at 100,000.
    buy = funded.place(
        alice, "BTC/USDT", "BUY", "MARKET", quote_quantity="0.50", self_trade_prevention="CANCEL_OLDEST"
    )
    funded.run()
    order = Order.objects.get(pk=buy)
    assert (order.status, order.reject_reason, order.executed_quantity) == (
        "EXPIRED",
        "MARKET_REMAINDER",
        Decimal(0),
    )
    assert not Trade.objects.exists()
    assert balance(alice, "USDT") == (Decimal("10000"), Decimal(0))


def test_an_order_breaking_the_market_rules_is_stored_as_rejected(funded, alice):
    off_tick = funded.place(alice, "BTC/USDT", "BUY", price="90.001", quantity="1")
    tiny = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="0.00001")
    funded.run()
    assert Order.objects.get(pk=off_tick).reject_reason == "PRICE_NOT_ON_TICK"
    assert Order.objects.get(pk=tiny).reject_reason == "BELOW_MIN_NOTIONAL"


def test_an_order_the_table_cannot_hold_is_rejected_without_a_row(funded, alice, redis_conn, settings):

    negative = funded.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="-1")
    funded.run()
    assert not Order.objects.filter(pk=negative).exists()
    feed = user_feed(redis_conn, alice)
    [update] = [u for u in feed if u.get("order_id") == str(negative)]
    assert (update["status"], update["reject_reason"]) == ("REJECTED", "INVALID_QUANTITY")
