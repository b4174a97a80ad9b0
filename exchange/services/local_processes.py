"""The processes `make run` starts, with their metrics ports, and a Prometheus config that scrapes them.

`manage.py worker_procfile` prints the workers' Procfile lines and
`manage.py prometheus_config` the scrape config from the same list, so
`make observe` scrapes what `make run` started. The real-Prometheus test
(tests/operations/test_metrics_reality.py) builds its config here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from exchange.services.invariants import matching_shards

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = ("rules.yaml", "invariants.yaml")


@dataclass(frozen=True)
class Process:
    """One process and its metrics port; `component` and `shard` become labels of its series."""

    name: str
    component: str
    port: int
    command: str = ""
    shard: str = ""


def worker_processes(metrics_base_port: int) -> list[Process]:
    """One accounts worker per accounts shard, one matching worker per symbol shard, the live audit."""
    processes = []
    port = metrics_base_port
    for shard in range(settings.ACCOUNT_SHARDS):
        command = f"python manage.py run_accounts --shard {shard} --metrics-port {port}"
        processes.append(Process(f"accounts-{shard}", "accounts", port, command, str(shard)))
        port += 1
    for shard in matching_shards():
        command = f"python manage.py run_matching --shard {shard} --metrics-port {port}"
        processes.append(Process(f"matching-{shard}", "matching", port, command, str(shard)))
        port += 1
    command = f"python manage.py run_invariants --metrics-port {port}"
    processes.append(Process("invariants", "invariants", port, command))
    return processes


def prometheus_config(
    targets: list[Process], host: str = "127.0.0.1", interval: str = "15s", rules_dir: Path = RULES_DIR
) -> dict[str, Any]:
    """A Prometheus config: one static target per process, labelled as the Kubernetes pods are."""
    static_configs = []
    for target in targets:
        labels = {"component": target.component, "process": target.name}
        if target.shard:
            labels["shard"] = target.shard
        static_configs.append({"targets": [f"{host}:{target.port}"], "labels": labels})
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_dir / name) for name in RULE_FILES],
        "scrape_configs": [{"job_name": "spot", "static_configs": static_configs}],
    }
