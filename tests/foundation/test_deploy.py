"""The deployment files stay in step with the code: commands exist, shards match the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from django.core.management import get_commands

from exchange.routing import SymbolRouter

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HELM = Path(__file__).resolve().parents[2] / "helm" / "spot"


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
        command = doc["spec"]["template"]["spec"]["containers"][0].get("command", [])
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in commands, command


def test_there_is_a_matching_deployment_for_every_shard_of_the_plan(settings):
    config = next(doc for doc in manifests() if doc["kind"] == "ConfigMap")
    assert config["data"]["SYMBOL_SHARDS"] == "btc=1,eth=2,sol=3,doge=3,*=4"
    names = {doc["metadata"]["name"] for doc in manifests() if doc["kind"] == "Deployment"}
    router = SymbolRouter({"btc": 1, "eth": 2, "sol": 3, "doge": 3}, default_shard=4)
    assert {f"matching-{shard}" for shard in router.configured_shards()} <= names
    assert "accounts-0" in names


DASHBOARDS = {
    "matching-engine-overview.json": "Spot — matching engine overview",
    "infrastructure.json": "Spot — infrastructure",
    "business.json": "Spot — business",
}


def test_the_plans_three_dashboards_parse_and_every_panel_has_a_query():
    assert {path.name for path in (DEPLOY / "grafana").glob("*.json")} == set(DASHBOARDS)
    uids = set()
    for name, title in DASHBOARDS.items():
        dashboard = json.loads((DEPLOY / "grafana" / name).read_text())
        assert dashboard["title"] == title
        uids.add(dashboard["uid"])
        panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
        assert panels, name
        assert all(panel["targets"] and all(t["expr"] for t in panel["targets"]) for panel in panels), name
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
    assert len(uids) == len(DASHBOARDS)


def test_the_invariants_gauges_have_panels():
    text = (DEPLOY / "grafana" / "matching-engine-overview.json").read_text()
    for gauge in (
        "spot_invariant_conservation_difference",
        "spot_invariant_locked_minus_open_holds",
        "spot_invariant_negative_balances",
        "spot_dead_letters",
        "spot_stream_oldest_unprocessed_seconds",
    ):
        assert gauge in text, gauge


def test_redis_and_mysql_have_exporters_scraped_by_prometheus():
    exporters = {
        doc["metadata"]["name"]: doc["spec"]["template"]
        for doc in manifests()
        if doc["kind"] == "Deployment" and doc["metadata"]["name"].endswith("-exporter")
    }
    assert set(exporters) == {"redis-exporter", "mysql-exporter"}
    for template in exporters.values():
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        ports = {port["containerPort"] for port in template["spec"]["containers"][0]["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "base" / "kustomization.yaml").read_text())
    assert "exporters.yaml" in kustomization["resources"]


def test_the_helm_chart_runs_the_same_exporter_images():
    values = yaml.safe_load((HELM / "values.yaml").read_text())
    images = {
        doc["metadata"]["name"].removesuffix("-exporter"): doc["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        for doc in manifests()
        if doc["kind"] == "Deployment" and doc["metadata"]["name"].endswith("-exporter")
    }
    assert images == {
        name: spec["image"] for name, spec in values["exporters"].items() if name != "resources"
    }
    template = (HELM / "templates" / "exporters.yaml").read_text()
    assert "component: redis-exporter" in template and "component: mysql-exporter" in template
