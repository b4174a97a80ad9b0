"""The live audit: every figure zero after real trading; each kind of damage or backlog shows."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone
from prometheus_client import REGISTRY

from exchange.models import Asset, Balance, LedgerEntry, LedgerKind, OrderHold
from exchange.pipeline.ids import parse_entry_id
from exchange.pipeline.keys import accounts_keys, matching_keys
from exchange.services.invariants import measure, measure_and_export
from tests.db_reads import rows_read, skip_unless_mariadb
from tests.operations.conftest import Pipeline
from tests.operations.test_audit import trade_a_little
from tests.pipeline.processes import ROOT, wait_for, worker_env


@pytest.fixture
def traded(pipeline: Pipeline, alice: Any, bob: Any) -> dict[str, int]:
    return trade_a_little(pipeline, alice, bob)


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_every_figure_is_zero_after_real_trading(traded: dict[str, int], redis_conn: redis.Redis) -> None:
    result = measure_and_export(redis_conn)

    assert result is not None
    assert set(result.conservation) == {"BTC", "ETH", "USDT"}
    assert not any(result.conservation.values())
    assert not any(result.locked_excess.values())
    assert result.negative_balances == 0
    assert set(result.dead_letters) >= {"accounts-0", "matching-1", "matching-2"}
    assert not any(result.dead_letters.values())
    assert not any(result.oldest_unprocessed.values())
    assert sample("spot_invariant_conservation_difference", asset="USDT") == 0
    assert sample("spot_invariant_findings", check="money is conserved") == 0
    assert (sample("spot_invariant_last_success_timestamp_seconds") or 0) > 0


def test_money_out_of_nothing_is_the_difference_of_its_asset(
    traded: dict[str, int], alice: Any, redis_conn: redis.Redis
) -> None:
    Balance.objects.filter(user=alice, asset__code="USDT").update(available=F("available") + Decimal("0.5"))

    result = measure_and_export(redis_conn)

    assert result is not None
    assert result.conservation == {"BTC": 0, "ETH": 0, "USDT": 0.5}
    assert sample("spot_invariant_conservation_difference", asset="USDT") == 0.5
    assert sample("spot_invariant_findings", check="money is conserved") == 1


def test_a_lock_no_open_order_explains_is_locked_minus_holds(
    traded: dict[str, int], redis_conn: redis.Redis
) -> None:
    OrderHold.objects.filter(order_id=traded["resting"]).update(remaining=F("remaining") - 1)

    result = measure(redis_conn)

    assert result.locked_excess == {"BTC": 0, "ETH": 0, "USDT": 1}


HISTORY = 3000  # rows of each table the live audit has no reason to read


def add_history(user: Any) -> None:
    """Ended orders' holds and trades' ledger entries, as months of trading leave them."""
    usdt = Asset.objects.get(code="USDT")
    now = timezone.now()
    first_id = 10**17
    OrderHold.objects.bulk_create(
        OrderHold(
            order_id=first_id + n,
            user=user,
            asset=usdt,
            market_symbol="BTC/USDT",
            client_order_id=f"history-{n}",
            remaining=0,
            is_open=False,
            updated_at=now,
        )
        for n in range(HISTORY)
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            id=first_id + n,
            user=user,
            asset=usdt,
            kind=LedgerKind.TRADE,
            available_after=0,
            locked_after=0,
            created_at=now,
        )
        for n in range(HISTORY)
    )


def test_the_live_audit_reads_what_is_open_and_external_not_the_history(
    traded: dict[str, int], alice: Any, redis_conn: redis.Redis
) -> None:
    skip_unless_mariadb()
    add_history(alice)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE exchange_orderhold, exchange_ledgerentry")
        cursor.fetchall()
    before = rows_read()

    result = measure(redis_conn)

    read = rows_read() - before
    assert not any(result.conservation.values()) and not any(result.locked_excess.values())
    assert read < HISTORY // 3, f"the live audit read {read} rows for {2 * HISTORY} rows of history"


def test_dead_letters_and_an_unread_entry_show_per_stream(
    traded: dict[str, int], redis_conn: redis.Redis
) -> None:
    redis_conn.xadd(matching_keys(2).dead_letters, {"entry": "1-0", "reason": "test"})
    entry_id = redis_conn.xadd(accounts_keys(0).stream, {"t": "place"})
    millis, _ = parse_entry_id(entry_id)

    result = measure(redis_conn, now=lambda: (millis + 42_000) / 1000)

    assert result.dead_letters["matching-2"] == 1
    assert result.dead_letters["accounts-0"] == 0
    assert result.oldest_unprocessed["accounts-0"] == pytest.approx(42.0)
    assert result.oldest_unprocessed["matching-1"] == 0


def test_once_prints_the_figures_and_fails_on_damage(
    traded: dict[str, int], alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as clean:
        call_command("run_invariants", "--once")
    assert clean.value.code == 0
    assert "conservation difference USDT" in capsys.readouterr().out

    Balance.objects.filter(user=alice, asset__code="BTC").update(available=F("available") + 1)
    with pytest.raises(SystemExit) as damaged:
        call_command("run_invariants", "--once")
    assert damaged.value.code == 1
    assert "conservation difference BTC                  1" in capsys.readouterr().out


def test_the_exporter_process_serves_its_gauges_and_stops_on_sigterm(traded: dict[str, int]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_invariants", "--interval", "3600", "--metrics-port", str(port)],
        cwd=ROOT,
        env=worker_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = wait_for(lambda: audited_metrics(port), timeout=120, what="the first live audit")
        assert 'spot_invariant_conservation_difference{asset="USDT"} 0.0' in text
        assert 'spot_dead_letters{stream="accounts-0"} 0.0' in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def audited_metrics(port: int) -> str | None:
    """The exporter's /metrics once its first audit completed, else None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text: str = response.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("spot_invariant_last_success_timestamp_seconds ") and float(line.split()[1]) > 0:
            return text
    return None
