"""A small running exchange scraped by a real Prometheus, for tests/operations/test_metrics_reality.py.

daphne and granian (tests.api.servers), one accounts and one matching worker,
the live audit, redis_exporter and mysqld_exporter (Debian's packages), and
/usr/bin/prometheus with its own port and data directory; its config comes
from exchange.services.local_processes, as `make observe`'s does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import connection

from exchange.services.local_processes import Process, prometheus_config
from spot.embedded_redis import free_port
from tests.api.servers import ServedApi
from tests.pipeline.processes import ROOT, worker_env

BINARIES = ("prometheus", "prometheus-redis-exporter", "prometheus-mysqld-exporter")


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def mysql_dsn() -> str:
    """The test database's server in the Go driver's form, for mysqld_exporter."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"{db['USER']}{password}@({db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306})/"


class ObservedStack:
    def __init__(self, log_dir: Path, matching_shard: int) -> None:
        self.log_dir = log_dir
        self.matching_shard = matching_shard
        self.api = {kind: ServedApi(kind, log_dir) for kind in ("daphne", "granian")}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.targets: list[Process] = []
        self.prometheus_port = 0

    def start(self) -> ObservedStack:
        for kind, component in (("daphne", "web"), ("granian", "api")):
            server = self.api[kind].start()
            self.targets.append(Process(kind, component, server.port))
        self._spawn_worker("accounts-0", "accounts", "0", ["run_accounts", "--shard", "0"])
        shard = str(self.matching_shard)
        self._spawn_worker(f"matching-{shard}", "matching", shard, ["run_matching", "--shard", shard])
        self._spawn_worker("invariants", "invariants", "", ["run_invariants", "--interval", "1"])
        port = free_port()
        self._spawn(
            "redis-exporter",
            [
                "prometheus-redis-exporter",
                "-redis.addr",
                settings.REDIS_URL,
                "-web.listen-address",
                f"127.0.0.1:{port}",
            ],
        )
        self.targets.append(Process("redis-exporter", "redis-exporter", port))
        port = free_port()
        self._spawn(
            "mysql-exporter",
            ["prometheus-mysqld-exporter", f"--web.listen-address=127.0.0.1:{port}"],
            DATA_SOURCE_NAME=mysql_dsn(),
        )
        self.targets.append(Process("mysql-exporter", "mysql-exporter", port))
        self._start_prometheus()
        return self

    def stop(self) -> None:
        for server in self.api.values():
            server.stop()
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of `expr` now; raises on a query Prometheus refuses."""
        answer = self._get("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = answer["data"]["result"]
        if answer["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return result

    def rules(self) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/rules")
        return [rule for group in answer["data"]["groups"] for rule in group["rules"]]

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def _get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.prometheus_port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  (a local Prometheus)
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer

    def _spawn_worker(self, name: str, component: str, shard: str, args: list[str]) -> None:
        port = free_port()
        self._spawn(name, [sys.executable, "manage.py", *args, "--metrics-port", str(port)], **worker_env())
        self.targets.append(Process(name, component, port, shard=shard))

    def _spawn(self, name: str, args: list[str], **env: str) -> None:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                args, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )

    def _start_prometheus(self) -> None:
        config = prometheus_config(self.targets, interval="1s")
        path = self.log_dir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.prometheus_port = free_port()
        self._spawn(
            "prometheus",
            [
                "prometheus",
                f"--config.file={path}",
                f"--storage.tsdb.path={self.log_dir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
        )
