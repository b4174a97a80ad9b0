"""The deployment files stay in step with the code: commands exist, shards match the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from django.core.management import get_commands

from exchange.routing import SymbolRouter

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "k8s" / "base").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def test_every_worker_deployment_runs_a_command_that_exists():
    commands = set(get_commands())
    for doc in manifests():
        if doc["kind"] != "Deployment":
            continue
        command = doc["spec"]["template"]["spec"]["containers"][0]["command"]
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in commands, command


def test_there_is_a_matching_deployment_for_every_shard_of_the_plan(settings):
    config = next(doc for doc in manifests() if doc["kind"] == "ConfigMap")
    assert config["data"]["SYMBOL_SHARDS"] == "btc=1,eth=2,sol=3,doge=3,*=4"
    names = {doc["metadata"]["name"] for doc in manifests() if doc["kind"] == "Deployment"}
    router = SymbolRouter({"btc": 1, "eth": 2, "sol": 3, "doge": 3}, default_shard=4)
    assert {f"matching-{shard}" for shard in router.configured_shards()} <= names
    assert "accounts-0" in names


def test_the_alert_rules_and_the_dashboard_parse():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
    assert {rule["alert"] for rule in rules["groups"][0]["rules"]} >= {
        "SpotOrderLatencyHigh",
        "SpotQueueBackup",
    }
    dashboard = json.loads((DEPLOY / "grafana" / "spot-overview.json").read_text())
    assert all(panel["targets"] for panel in dashboard["panels"])
