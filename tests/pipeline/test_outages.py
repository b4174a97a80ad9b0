"""A database or Redis outage is retried and loses nothing."""

from __future__ import annotations

from decimal import Decimal

import redis
from django.db import OperationalError

from exchange.models import Balance, Order
from exchange.pipeline.wire import read_entries
from persistence.write_buffer import Batch
from tests.pipeline.checks import (
    assert_ledger_explains_balances,
    assert_money_is_conserved,
    assert_places_forwarded_once,
)


def test_a_database_outage_during_a_commit_is_retried_and_commits_once(pipeline, alice, bob, monkeypatch):
    real_commit = Batch.commit
    failures = {"left": 3}

    def flaky_commit(batch: Batch, epoch: int):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("2006, MySQL server has gone away")
        return real_commit(batch, epoch)

    monkeypatch.setattr(Batch, "commit", flaky_commit)
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5")
    pipeline.run()

    assert failures["left"] == 0
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert Balance.objects.get(user=alice, asset__code="BTC").available == Decimal("0.5")
    assert_ledger_explains_balances()
    assert_money_is_conserved()


def fund(pipeline, alice, bob) -> None:
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()


def cross_and_check(pipeline, alice, bob) -> None:
    """Bob sells, Alice buys the same: both fill once, and the books balance."""
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="100.00", quantity="0.5")
    pipeline.run()
    assert Order.objects.get(pk=sell).status == "FILLED"
    assert Order.objects.get(pk=buy).status == "FILLED"
    assert Balance.objects.get(user=alice, asset__code="BTC").available == Decimal("0.5")
    assert_ledger_explains_balances()
    assert_money_is_conserved()


def test_a_redis_outage_while_sending_keeps_the_outputs_until_they_are_sent(
    pipeline, alice, bob, monkeypatch
):
    fund(pipeline, alice, bob)
    accounts = pipeline.workers[0]
    real_round_trip = accounts.wire.round_trip
    failures = {"left": 2}

    def flaky_round_trip(commands):
        if failures["left"]:
            failures["left"] -= 1
            raise redis.ConnectionError("Connection refused")
        return real_round_trip(commands)

    monkeypatch.setattr(accounts.wire, "round_trip", flaky_round_trip)
    cross_and_check(pipeline, alice, bob)
    assert failures["left"] == 0


def test_entries_whose_read_reply_was_lost_are_read_again_from_the_pending_list(
    pipeline, alice, bob, monkeypatch
):
    """Redis delivered the entries (they are pending for the worker), but the reply never arrived."""
    fund(pipeline, alice, bob)
    accounts = pipeline.workers[0]
    real_round_trip = accounts.wire.round_trip
    lost = {"left": 2}

    def lossy_round_trip(commands):
        replies = real_round_trip(commands)
        if lost["left"] and commands[-1][0] == "XREADGROUP" and read_entries(replies[-1]):
            lost["left"] -= 1  # Redis delivered the entries; the reply never arrived
            raise redis.ConnectionError("Connection reset by peer")
        return replies

    monkeypatch.setattr(accounts.wire, "round_trip", lossy_round_trip)
    cross_and_check(pipeline, alice, bob)
    assert lost["left"] == 0


def test_outputs_sent_in_a_trip_whose_read_failed_are_not_sent_again(
    pipeline, alice, bob, monkeypatch, redis_conn
):
    """The XADDs of a round trip ran; only its read answered an error: the outputs must not go out twice."""
    fund(pipeline, alice, bob)
    accounts = pipeline.workers[0]
    real_round_trip = accounts.wire.round_trip
    failed = {"left": 2}

    def read_fails(commands):
        replies = real_round_trip(commands)
        if failed["left"] and len(commands) > 1 and commands[-1][0] == "XREADGROUP":
            failed["left"] -= 1
            replies[-1] = redis.ResponseError("BUSY Redis is busy running a script")
        return replies

    monkeypatch.setattr(accounts.wire, "round_trip", read_fails)
    cross_and_check(pipeline, alice, bob)
    assert failed["left"] == 0
    assert_places_forwarded_once(redis_conn, 2)
