from __future__ import annotations

import json

from django.apps import apps
from django.core.management import call_command

from exchange.models import ApiKey, Balance, LedgerEntry, Market
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.workers import AccountsWorker


def snapshot(redis_conn):
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    balances = sorted(Balance.objects.values_list("user__username", "asset__code", "available", "locked"))
    return counts, balances, redis_conn.xlen(accounts_keys(0).stream)


def apply_deposits(redis_conn) -> None:
    worker = AccountsWorker(0, redis_conn)
    assert worker.become_leader()
    while worker.step():
        pass
    worker.shutdown()


def test_seed_demo_twice_changes_nothing_the_second_time(
    settings, tmp_path, capsys, redis_conn, transactional_db
):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    first = snapshot(redis_conn)
    call_command("seed_demo")
    assert snapshot(redis_conn) == first
    apply_deposits(redis_conn)
    applied = snapshot(redis_conn)
    call_command("seed_demo")
    assert snapshot(redis_conn) == applied

    assert set(Market.objects.values_list("symbol", flat=True)) == {
        "BTC/USDT",
        "ETH/USDT",
        "SOL/USDT",
        "DOGE/USDT",
    }
    assert ApiKey.objects.filter(user__username="alice", can_trade=True).exists()
    assert (
        LedgerEntry.objects.filter(kind="DEPOSIT", reference="seed_demo").count()
        == Balance.objects.count()
        == 11
    )
    output = capsys.readouterr().out
    assert "http://127.0.0.1:8000/admin/" in output
    credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert set(credentials["api_keys"]) == {"alice", "bob", "maker"}
    # The market page's traders log in with a password; the others have none.
    for name, login in credentials["traders"].items():
        assert apps.get_model("auth", "User").objects.get(username=name).check_password(login["password"])
    assert set(credentials["traders"]) == {"alice", "bob"}
    assert not apps.get_model("auth", "User").objects.get(username="maker").has_usable_password()
    assert "user alice / password" in output
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o077 == 0
