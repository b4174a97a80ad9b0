"""The money invariants and the pipeline's backlog, measured live for Prometheus.

`manage.py run_invariants` calls `measure` every interval. Each figure is
zero while all is well, so each alert is "not zero" (deploy/prometheus):

- per asset, the conservation difference and locked minus open holds: the
  checks of `manage.py audit` (exchange/services/audit), without the two that
  read every order and ledger entry;
- negative balances;
- per worker stream, the entries in its dead-letter stream and the age of the
  oldest entry its worker has not committed yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from django.conf import settings
from prometheus_client import Counter, Gauge

from exchange.models import Market
from exchange.pipeline.ids import parse_entry_id
from exchange.pipeline.keys import ShardKeys, accounts_keys, matching_keys
from exchange.routing import SymbolRouter
from exchange.services.audit import run_audit
from persistence.models import StreamOffset

logger = logging.getLogger(__name__)

CONSERVATION = Gauge(
    "spot_invariant_conservation_difference",
    "Per asset: Σ balances + settlements in flight - (deposits - withdrawals ± adjustments); 0: conserved",
    ["asset"],
)
LOCKED_EXCESS = Gauge(
    "spot_invariant_locked_minus_open_holds",
    "Per asset: Σ locked - Σ what open orders may still spend; 0 when every lock is explained",
    ["asset"],
)
NEGATIVE_BALANCES = Gauge("spot_invariant_negative_balances", "Balances below zero")
FINDINGS = Gauge("spot_invariant_findings", "Findings of the last live audit, per check", ["check"])
DEAD_LETTERS = Gauge("spot_dead_letters", "Entries in a worker's dead-letter stream", ["stream"])
OLDEST_UNPROCESSED = Gauge(
    "spot_stream_oldest_unprocessed_seconds",
    "Age of the oldest entry of a worker's input stream that its worker has not committed (0: none)",
    ["stream"],
)
LAST_SUCCESS = Gauge(
    "spot_invariant_last_success_timestamp_seconds", "When the live audit last completed (Unix time)"
)
DURATION = Gauge("spot_invariant_run_seconds", "How long the last live audit took")
FAILURES = Counter("spot_invariant_run_failures_total", "Live audits that could not complete")


@dataclass
class Measurement:
    """One run's figures, as exported (amounts as floats: an alert only asks "is it zero")."""

    conservation: dict[str, float] = field(default_factory=dict)
    locked_excess: dict[str, float] = field(default_factory=dict)
    negative_balances: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    oldest_unprocessed: dict[str, float] = field(default_factory=dict)


def worker_streams() -> dict[str, ShardKeys]:
    """Each worker's name (its stream offset's consumer) and its keys: every accounts and matching shard."""
    streams = {f"accounts-{shard}": accounts_keys(shard) for shard in range(settings.ACCOUNT_SHARDS)}
    for shard in matching_shards():
        streams[f"matching-{shard}"] = matching_keys(shard)
    return streams


def matching_shards() -> list[int]:
    """The symbol shards the configuration names, plus any a market is pinned to."""
    shards = set(SymbolRouter.from_settings().configured_shards())
    shards.update(s for s in Market.objects.values_list("shard_override", flat=True) if s is not None)
    return sorted(shards)


def measure(client: redis.Redis, now: Callable[[], float] = time.time) -> Measurement:
    """Run the live audit and read the streams; raises what the database or Redis raise."""
    report = run_audit(client, attempts=3, pause=1.0, full=False)
    result = Measurement()
    for check in report.checks:
        result.findings[check.name] = len(check.findings)
        if check.name == "money is conserved":
            result.conservation = {code: float(value) for code, value in check.measures.items()}
        elif check.name == "locked equals open holds":
            result.locked_excess = {code: float(value) for code, value in check.measures.items()}
        elif check.name == "no negative balance":
            result.negative_balances = len(check.findings)
    committed = dict(StreamOffset.objects.values_list("consumer", "last_entry_id"))
    now_ms = now() * 1000
    for name, keys in worker_streams().items():
        result.dead_letters[name] = int(client.xlen(keys.dead_letters))
        after = committed.get(name, "0-0")
        oldest: list[tuple[bytes, object]] = client.xrange(keys.stream, min=f"({after}", count=1)  # type: ignore[assignment]
        if oldest:
            millis, _ = parse_entry_id(oldest[0][0])
            result.oldest_unprocessed[name] = max(0.0, (now_ms - millis) / 1000)
        else:
            result.oldest_unprocessed[name] = 0.0
    return result


def export(result: Measurement) -> None:
    for code, value in result.conservation.items():
        CONSERVATION.labels(code).set(value)
    for code, value in result.locked_excess.items():
        LOCKED_EXCESS.labels(code).set(value)
    NEGATIVE_BALANCES.set(result.negative_balances)
    for check, count in result.findings.items():
        FINDINGS.labels(check).set(count)
    for name, count in result.dead_letters.items():
        DEAD_LETTERS.labels(name).set(count)
    for name, age in result.oldest_unprocessed.items():
        OLDEST_UNPROCESSED.labels(name).set(age)


def measure_and_export(client: redis.Redis) -> Measurement | None:
    """One run: the gauges keep their last values when it fails, and the failure is counted and logged."""
    started = time.monotonic()
    try:
        result = measure(client)
    except Exception:
        FAILURES.inc()
        logger.exception("live audit failed")
        return None
    export(result)
    DURATION.set(time.monotonic() - started)
    LAST_SUCCESS.set(time.time())
    return result
