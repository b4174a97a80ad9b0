"""`make observe`'s Prometheus config scrapes the very processes and ports `make run` starts."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def command_output(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_every_worker_of_the_procfile_is_scraped_with_its_component_and_shard(btc_usdt):
    procfile = command_output("worker_procfile", "--metrics-base-port", "9300")
    config = yaml.safe_load(command_output("prometheus_config", "--metrics-base-port", "9300"))

    scraped = {
        target: labels
        for static in config["scrape_configs"][0]["static_configs"]
        for target, labels in [(static["targets"][0], static["labels"])]
    }
    for line in procfile.splitlines():
        name, command = line.split(": ", 1)
        port = re.search(r"--metrics-port (\d+)", command)
        assert port, line
        labels = scraped[f"127.0.0.1:{port.group(1)}"]
        assert labels["process"] == name
        assert labels["component"] == name.split("-")[0]
        if "--shard" in command:
            assert labels["shard"] == name.split("-")[1]
    assert scraped["127.0.0.1:8000"]["component"] == "web"
    assert scraped["127.0.0.1:8001"]["component"] == "api"


def test_the_config_with_exporters_is_valid_for_prometheus(btc_usdt, tmp_path: Path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make install` installs Debian's prometheus package"
    path = tmp_path / "prometheus.yml"
    path.write_text(command_output("prometheus_config", "--exporter", "redis-exporter=9121"))
    result = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout
