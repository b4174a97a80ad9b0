"""The exchange's audit: checks an operator can run at any time, also while the workers trade.

`run_audit` reads the database in one consistent snapshot, adds what the
accounts streams hold beyond it (exchange/services/audit/streams.py), and
runs the checks. A finding is something wrong in what the workers have
committed; what they have still to commit is counted as in flight. Two
windows cannot be closed by one snapshot (a worker that trims past it while
its stream is read, a matching batch sent to some accounts streams and not
yet to the others), so a failed attempt is taken again: a fault fails every
attempt, a window does not last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings

from exchange.models import Asset, Market
from exchange.pipeline.keys import accounts_keys
from exchange.routing import SymbolRouter
from exchange.services.audit import balances, orders
from exchange.services.audit.report import AuditReport, CheckResult
from exchange.services.audit.snapshot import consistent_snapshot
from exchange.services.audit.streams import StaleSnapshot, StreamContents, read_accounts_stream
from persistence.models import StreamOffset

__all__ = ["AuditReport", "CheckResult", "run_audit"]

logger = logging.getLogger(__name__)


def run_audit(
    client: redis.Redis,
    attempts: int = 3,
    pause: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    full: bool = True,
) -> AuditReport:
    """Audit until an attempt passes or `attempts` have failed; the report of the last attempt.

    full=False leaves out the two checks that read every order and every
    ledger entry (orders stored once, the ledger explains balances): what the
    periodic live audit runs (exchange/services/invariants.py).
    """
    for attempt in range(1, attempts + 1):
        try:
            report = AuditReport(audit_once(client, full), attempt)
        except StaleSnapshot as exc:
            logger.info("audit attempt %s: %s", attempt, exc)
            if attempt == attempts:
                raise
        else:
            if report.ok or attempt == attempts:
                return report
        sleep(pause)
    raise AssertionError("unreachable")


def audit_once(client: redis.Redis, full: bool = True) -> list[CheckResult]:
    with consistent_snapshot():
        assets = dict(Asset.objects.values_list("id", "code"))
        offsets = {
            row.consumer: (row.last_entry_id, dict((row.producer_sequences or {}).get("producers", {})))
            for row in StreamOffset.objects.all()
        }
        router = SymbolRouter.from_settings()
        markets = list(Market.objects.select_related("base", "quote"))
        sides = {market.symbol: (market.base.code, market.quote.code) for market in markets}
        market_shards = {market.symbol: router.shard_for_market(market) for market in markets}
        streams = StreamContents()
        for shard in range(settings.ACCOUNT_SHARDS):
            committed, applied = offsets.get(f"accounts-{shard}", ("0-0", {}))
            read_accounts_stream(client, shard, accounts_keys(shard), committed, applied, sides, streams)
        if not full:
            return [
                balances.money_is_conserved(assets, streams),
                balances.locked_equals_open_holds(assets),
                balances.no_negative_balances(assets),
            ]
        return [
            orders.orders_stored_once(offsets, market_shards, streams),
            balances.money_is_conserved(assets, streams),
            balances.ledger_explains_balances(assets),
            balances.locked_equals_open_holds(assets),
            balances.no_negative_balances(assets),
        ]
