"""The alert rules are checked and unit-tested by promtool (Debian's `prometheus` package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make install` installs Debian's prometheus package"
    return path


@pytest.mark.parametrize("tests", sorted(RULES.glob("*.test.yaml")), ids=lambda path: path.name)
def test_the_rules_pass_their_unit_tests(tests: Path) -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", tests.name], cwd=RULES, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def rule_files() -> list[Path]:
    return sorted(
        path
        for path in RULES.glob("*.yaml")
        if not path.name.endswith(".test.yaml") and "groups" in (yaml.safe_load(path.read_text()) or {})
    )


def alerts_fired_by_tests() -> dict[str, set[str]]:
    """Rule file name -> the alerts some unit test of it expects to fire."""
    fired: dict[str, set[str]] = {}
    for tests in RULES.glob("*.test.yaml"):
        document = yaml.safe_load(tests.read_text())
        names = {
            case["alertname"]
            for test in document["tests"]
            for case in test.get("alert_rule_test", [])
            if case.get("exp_alerts")
        }
        for rules in document["rule_files"]:
            fired.setdefault(rules, set()).update(names)
    return fired


def test_there_are_rule_files_to_check():
    assert {path.name for path in rule_files()} >= {"rules.yaml", "invariants.yaml"}


@pytest.mark.parametrize("rules", rule_files(), ids=lambda path: path.name)
def test_every_alert_fires_in_some_unit_test(rules: Path) -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(rules.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    untested = alerts - alerts_fired_by_tests().get(rules.name, set())
    assert not untested, f"{rules.name}: no unit test sees these fire: {sorted(untested)}"


def test_the_cluster_scrape_config_is_valid(tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes discovery: check the rest with static targets."""
    config = yaml.safe_load((RULES / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs")
        job["static_configs"] = [{"targets": []}]
    config["rule_files"] = [str(RULES / name) for name in config["rule_files"]]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool(), "check", "config", str(checked)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
