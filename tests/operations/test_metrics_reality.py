"""Every expression of every dashboard and alert rule returns series from a real, running exchange.

A real Prometheus scrapes daphne, granian, the workers, the live audit and
the Redis and MySQL exporters (tests/operations/observed_stack.py) while a
few orders trade. Each dashboard target must return series; each alert rule
too, without its threshold comparison, and so must each metric it reads,
with every label its matchers name. A metric renamed in the code, a label
misspelt in a panel, a process that stopped exporting: each fails here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from exchange.models import Market
from exchange.pipeline.order_entry import OrderEntry
from exchange.routing import SymbolRouter
from exchange.services.api_keys import issue_api_key
from spot.redis_connection import connect
from tests.api.support import SignedClient, limit_buy
from tests.operations.observed_stack import ObservedStack, missing_binaries
from tests.pipeline.conftest import fee_account

__all__ = ["fee_account"]

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Generous: six Python processes start on a loaded two-core machine before the first scrape.
SERIES_TIMEOUT_S = 300
# The comparison an alert's expression ends with: "> 0.05", "== 0", "!= 0".
THRESHOLD = re.compile(r"\s*(?:>=|<=|==|!=|>|<)\s*-?[0-9.]+(?:e[+-]?[0-9]+)?\s*$")
SELECTOR = re.compile(r"(?<![\w\"])((?:spot|process|redis|mysql)_[a-z0-9_]+|up)(?![\w(])(\{[^}]*\})?")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def dashboard_expressions() -> dict[str, str]:
    found = {}
    for path in sorted((DEPLOY / "grafana").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.stem} / {panel['title']} / {target['refId']}"] = target["expr"]
    return found


def rules() -> list[dict[str, Any]]:
    import yaml

    found = []
    for path in sorted((DEPLOY / "prometheus").glob("*.yaml")):
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups", []):
            found += group["rules"]
    return found


def rule_expressions() -> dict[str, str]:
    """Each alert's expression without its threshold: `up{...} == 0` -> `up{...}`."""
    return {f"alert {rule['alert']}": THRESHOLD.sub("", rule["expr"]) for rule in rules()}


def metrics_read() -> dict[str, set[str]]:
    """Each metric the rules and dashboards read -> the labels their matchers name."""
    read: dict[str, set[str]] = {}
    for expr in [*dashboard_expressions().values(), *(rule["expr"] for rule in rules())]:
        for name, matchers in SELECTOR.findall(expr):
            read.setdefault(name, set()).update(MATCHER_LABEL.findall(matchers))
    return read


def test_the_expressions_to_check_are_found():
    assert len(dashboard_expressions()) > 40
    assert rule_expressions()["alert SpotWorkerDown"] == 'up{component=~"accounts|matching|invariants"}'
    assert (
        rule_expressions()["alert SpotLiveAuditStale"]
        == "time() - spot_invariant_last_success_timestamp_seconds"
    )
    read = metrics_read()
    assert read["spot_api_requests_total"] >= {"status", "route", "method"}
    assert "process_resident_memory_bytes" in read and "redis_commands_processed_total" in read


@pytest.fixture
def stack(tmp_path: Path, btc_usdt: Market, fee_account: Any) -> Iterator[ObservedStack]:
    if connection.vendor != "mysql":
        pytest.skip("needs MySQL/MariaDB for mysqld_exporter (DATABASE_URL=mysql://...)")
    missing = missing_binaries()
    assert not missing, f"missing {missing}: `make install` installs them (scripts/ensure-system-packages.sh)"
    shard = SymbolRouter.from_settings().shard_for(btc_usdt.symbol)
    observed = ObservedStack(tmp_path, shard)
    try:
        yield observed.start()
    finally:
        observed.stop()


def trade_a_little(stack: ObservedStack, alice: Any, bob: Any) -> None:
    """A trade through the lean path, a refusal, and reads through Django (daphne and granian)."""
    client = connect(settings.REDIS_URL)
    entry = OrderEntry(client)
    entry.change_funds(alice.pk, "USDT", "DEPOSIT", Decimal("100000"), "test", None)
    entry.change_funds(bob.pk, "BTC", "DEPOSIT", Decimal("10"), "test", None)
    client.close()
    alice_api = SignedClient(
        stack.api["granian"].send, issue_api_key(alice, "a", can_read=True, can_trade=True)
    )
    bob_api = SignedClient(stack.api["daphne"].send, issue_api_key(bob, "b", can_read=True, can_trade=True))
    assert bob_api.post("/api/v1/orders", limit_buy(side="SELL", quantity="0.01")).status_code == 202
    assert alice_api.post("/api/v1/orders", limit_buy(quantity="0.01")).status_code == 202
    assert alice_api.post("/api/v1/orders", limit_buy(price="0.001")).status_code == 400
    assert bob_api.get("/api/v1/orders/123").status_code == 404
    assert alice_api.get("/api/v1/markets").status_code == 200


def what_was_done(stack: ObservedStack) -> dict[str, str]:
    """What trade_a_little did, seen in the metrics, and CPU and memory from every process."""
    seen = {
        "lean path counted": (
            'spot_api_requests_total{component="api",route="/api/v1/orders",status="202"} > 0'
        ),
        "lean path refusal by code": 'spot_api_requests_total{component="api",status="400",code!=""} > 0',
        "django path (daphne) counted": (
            'spot_api_requests_total{component="web",route="/api/v1/orders/<order_id>",status="404"} > 0'
        ),
        "django path (granian) counted": (
            'spot_api_requests_total{component="api",route="/api/v1/markets"} > 0'
        ),
        "orders accepted per side": 'count(spot_orders_accepted_total{market="BTC/USDT"} > 0) == 2',
        "a trade": 'spot_traded_base_total{market="BTC/USDT"} == 0.01',
        "active users": "sum(spot_active_users) == 2",
        "order journeys observed by matching": (
            'sum(spot_order_stage_seconds_count{component="matching",stage="accepted_to_committed"}) >= 2'
        ),
        "push stage exported by daphne": (
            'spot_order_stage_seconds_count{component="web",stage="accepted_to_pushed"}'
        ),
    }
    for target in stack.targets:
        for metric in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
            seen[f"{metric} of {target.name}"] = f'{metric}{{process="{target.name}"}}'
    return seen


def empty_expressions(stack: ObservedStack, expressions: dict[str, str]) -> dict[str, str]:
    return {name: expr for name, expr in expressions.items() if not stack.query(expr)}


def missing_labels(stack: ObservedStack) -> dict[str, set[str]]:
    """Metrics with no series, or whose series lack a label some matcher names."""
    missing = {}
    for name, labels in metrics_read().items():
        series = stack.query(name)
        seen = {label for one in series for label in one["metric"]}
        if not series or labels - seen:
            missing[name] = labels - seen or {"(no series)"}
    return missing


def test_every_dashboard_and_alert_expression_returns_series_from_the_running_stack(stack, alice, bob):
    trade_a_little(stack, alice, bob)
    expressions = {**dashboard_expressions(), **rule_expressions(), **what_was_done(stack)}

    deadline = time.monotonic() + SERIES_TIMEOUT_S
    while True:
        empty = empty_expressions(stack, expressions)
        unread = missing_labels(stack)
        unhealthy = [rule["name"] for rule in stack.rules() if rule["health"] != "ok"]
        if not (empty or unread or unhealthy):
            break
        if time.monotonic() > deadline:
            pytest.fail(
                f"after {SERIES_TIMEOUT_S} s: no series for {json.dumps(empty, indent=1)}\n"
                f"metrics or labels missing: {unread}\nrules not evaluating: {unhealthy}\n{stack.logs()}"
            )
        time.sleep(1)  # polling Prometheus, which scrapes every second
