"""`manage.py audit`: a clean exchange passes; each kind of damage is named and fails the command."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from exchange.models import Balance, LedgerEntry, Order, OrderHold
from exchange.pipeline.worker import StageWorker
from exchange.pipeline.workers import AccountsWorker, MatchingWorker
from tests.operations.conftest import Pipeline


def audit(*args: str) -> tuple[int, str]:
    """(exit status, output) of `manage.py audit` with one attempt: damage is there at once."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("audit", "--attempts", "1", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def trade_a_little(pipeline: Pipeline, alice: Any, bob: Any) -> dict[str, int]:
    """Deposits, a partial fill, a resting order, a cancel, a market order: every kind of ledger entry."""
    pipeline.deposit(alice, "USDT", "100000")
    pipeline.deposit(bob, "BTC", "3")
    pipeline.deposit(bob, "ETH", "10")
    pipeline.run()
    orders = {
        "ask": pipeline.place(bob, "BTC/USDT", "SELL", price="50000", quantity="1"),
        "bid": pipeline.place(alice, "BTC/USDT", "BUY", price="50000", quantity="0.4"),
        "resting": pipeline.place(alice, "BTC/USDT", "BUY", price="49000", quantity="0.5"),
        "eth ask": pipeline.place(bob, "ETH/USDT", "SELL", price="3000", quantity="2"),
        "market": pipeline.place(alice, "ETH/USDT", "BUY", type="MARKET", quote_quantity="3003"),
        "cancelled": pipeline.place(bob, "BTC/USDT", "SELL", price="60000", quantity="0.5"),
    }
    pipeline.run()
    pipeline.entry.cancel(bob.pk, orders["cancelled"])
    pipeline.run()
    pipeline.run()
    return orders


@pytest.fixture
def traded(pipeline: Pipeline, alice: Any, bob: Any) -> dict[str, int]:
    return trade_a_little(pipeline, alice, bob)


def test_a_clean_exchange_passes_after_real_trading(traded: dict[str, int]) -> None:
    status, output = audit()

    assert status == 0, output
    assert output.count(" OK ") == 5
    assert "FAILED" not in output
    assert Order.objects.filter(status="FILLED").exists()


def test_json_names_every_check_with_its_counts(traded: dict[str, int]) -> None:
    status, output = audit("--json")

    report = json.loads(output)
    assert status == 0 and report["ok"]
    checks = {check["name"]: check for check in report["checks"]}
    assert set(checks) == {
        "orders stored once",
        "money is conserved",
        "ledger explains balances",
        "locked equals open holds",
        "no negative balance",
    }
    assert checks["orders stored once"]["checked"]["orders"] == len(traded)
    assert all(check["findings"] == [] for check in checks.values())


@pytest.fixture
def two_accounts_shards(settings: Any, pipeline: Pipeline) -> Pipeline:
    """Alice and bob on two accounts shards: a trade's legs are applied by two workers, at two moments."""
    settings.ACCOUNT_SHARDS = 2
    for worker in pipeline.workers:
        worker.shutdown()
    pipeline.workers = [AccountsWorker(0, pipeline.redis), AccountsWorker(1, pipeline.redis)] + [
        MatchingWorker(shard, pipeline.redis) for shard in (1, 2, 3, 4)
    ]
    for worker in pipeline.workers:
        assert worker.become_leader(), worker.name
    return pipeline


def test_settlements_still_in_the_streams_are_in_flight_not_lost(
    two_accounts_shards: Pipeline, alice: Any, bob: Any
) -> None:
    pipeline = two_accounts_shards
    pipeline.deposit(alice, "USDT", "100000")
    pipeline.deposit(bob, "BTC", "3")
    pipeline.run()
    pipeline.place(bob, "BTC/USDT", "SELL", price="50000", quantity="1")
    pipeline.place(alice, "BTC/USDT", "BUY", price="50000", quantity="0.4")
    accounts = {worker.shard: worker for worker in pipeline.workers if isinstance(worker, AccountsWorker)}
    for each in accounts.values():
        step_and_commit(each)
    for worker in pipeline.workers:
        if isinstance(worker, MatchingWorker):
            step_and_commit(worker)
    # Alice's side of the trade is applied; bob's waits in his accounts stream.
    step_and_commit(accounts[alice.pk % 2])
    pipeline.place(bob, "BTC/USDT", "SELL", price="70000", quantity="0.1")

    status, output = audit("--json")

    report = json.loads(output)
    assert status == 0, output
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["money is conserved"]["in_flight"] == 1
    assert checks["orders stored once"]["in_flight"] == 1  # bob's second place, not yet read
    step_and_commit(accounts[bob.pk % 2])
    assert audit()[0] == 0


def test_an_order_held_but_not_yet_matched_is_in_flight(pipeline: Pipeline, alice: Any, bob: Any) -> None:
    trade_a_little(pipeline, alice, bob)
    pipeline.place(alice, "BTC/USDT", "BUY", price="48000", quantity="0.1")
    step_and_commit(pipeline.workers[0])  # held and forwarded; matching has not read it

    status, output = audit("--json")

    assert status == 0, output
    checks = {check["name"]: check for check in json.loads(output)["checks"]}
    assert checks["orders stored once"]["in_flight"] == 1


def test_it_names_a_balance_the_ledger_does_not_explain(traded: dict[str, int], alice: Any) -> None:
    Balance.objects.filter(user=alice, asset__code="USDT").update(available=F("available") + Decimal("0.5"))

    status, output = audit()

    assert status == 1
    assert "ledger explains balances  FAILED" in output
    assert f"ledger explains balances: user {alice.pk} USDT: balance " in output
    assert "money is conserved: USDT: accounts hold" in output
    assert "(off by +0.5)" in output


def test_a_failed_audit_on_sqlite_says_that_sqlite_rounds_large_amounts(
    traded: dict[str, int], alice: Any
) -> None:
    from io import StringIO

    Balance.objects.filter(user=alice, asset__code="USDT").update(available=F("available") + Decimal("0.5"))
    errors = StringIO()

    with pytest.raises(SystemExit):
        call_command("audit", "--attempts", "1", stdout=StringIO(), stderr=errors)

    # MariaDB and MySQL store amounts exactly: there the findings need no such note.
    assert ("note: this database is SQLite" in errors.getvalue()) == (connection.vendor == "sqlite")


def test_it_names_money_made_out_of_nothing_even_when_the_ledger_agrees(
    traded: dict[str, int], alice: Any
) -> None:
    entry = LedgerEntry.objects.filter(user=alice, asset__code="BTC").latest("id")
    LedgerEntry.objects.create(
        id=entry.id + (1 << 30),
        user=alice,
        asset=entry.asset,
        kind="TRADE",
        available_delta=Decimal("1"),
        available_after=entry.available_after + 1,
        locked_after=entry.locked_after,
        created_at=entry.created_at,
    )
    Balance.objects.filter(user=alice, asset__code="BTC").update(available=F("available") + 1)

    status, output = audit()

    assert status == 1
    assert "ledger explains balances  OK" in output
    assert (
        "money is conserved: BTC: accounts hold 4 + in flight 0 != deposits - withdrawals ± adjustments 3"
        in output
    )
    assert "(off by +1)" in output


def test_it_names_locked_funds_no_open_order_explains(traded: dict[str, int], alice: Any) -> None:
    OrderHold.objects.filter(order_id=traded["resting"]).update(remaining=F("remaining") - 1)

    status, output = audit()

    assert status == 1
    assert f"locked equals open holds: user {alice.pk} USDT: locked 24524.5, open holds 24523.5" in output


def test_it_names_a_negative_balance(traded: dict[str, int], bob: Any) -> None:
    with connection.cursor() as cursor:
        # The table's own CHECK refuses it; the audit is the second line behind it.
        if connection.vendor == "mysql":
            cursor.execute("SET SESSION check_constraint_checks = 0")
        else:
            cursor.execute("PRAGMA ignore_check_constraints = 1")
        Balance.objects.filter(user=bob, asset__code="ETH").update(available=Decimal("-1"))
        if connection.vendor == "mysql":
            cursor.execute("SET SESSION check_constraint_checks = 1")
        else:
            cursor.execute("PRAGMA ignore_check_constraints = 0")

    status, output = audit()

    assert status == 1
    assert f"no negative balance: user {bob.pk} ETH: available -1, locked 1" in output


def test_it_names_an_order_matching_committed_past_and_never_stored(
    traded: dict[str, int], alice: Any
) -> None:
    Order.objects.filter(pk=traded["resting"]).delete()

    status, output = audit()

    assert status == 1
    assert f"orders stored once: order {traded['resting']} of user {alice.pk} in BTC/USDT: held by" in output
    assert "no order row" in output


def test_it_names_an_order_whose_hold_was_never_stored(traded: dict[str, int], alice: Any) -> None:
    OrderHold.objects.filter(order_id=traded["bid"]).delete()

    status, output = audit()

    assert status == 1
    assert (
        f"orders stored once: order {traded['bid']} of user {alice.pk} (FILLED): accounts-0 committed"
        in output
    )


def test_it_names_one_acknowledged_order_stored_under_two_ids(traded: dict[str, int], alice: Any) -> None:
    hold = OrderHold.objects.get(order_id=traded["resting"])
    hold.order_id += 7  # the same place again, under the id of an entry of another shard
    hold.save(force_insert=True)

    status, output = audit()

    assert status == 1
    name = f"orders stored once: user {alice.pk} client order id {hold.client_order_id!r}"
    assert f"{name}: holds {traded['resting']} and {hold.order_id} placed 0 ms apart, within the" in output
    assert (
        f"{name}: holds {traded['resting']} and {hold.order_id}: the second placed while the first was open"
        in output
    )


def test_it_names_a_hold_whose_order_row_names_another_client_order_id(
    traded: dict[str, int], alice: Any
) -> None:
    Order.objects.filter(pk=traded["resting"]).update(client_order_id="someone-else")

    status, output = audit()

    assert status == 1
    assert f"hold of order {traded['resting']} (user {alice.pk}" in output


def test_it_names_an_acknowledged_place_that_left_no_row(traded: dict[str, int], bob: Any) -> None:
    OrderHold.objects.filter(order_id=traded["cancelled"]).delete()
    Order.objects.filter(pk=traded["cancelled"]).delete()

    status, output = audit()

    assert status == 1
    assert f"(order {traded['cancelled']}, user {bob.pk}," in output
    assert "was committed, left no hold nor order" in output


def step_and_commit(worker: StageWorker) -> None:
    while worker.step():
        pass
    worker._commit()
