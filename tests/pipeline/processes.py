"""Real worker processes for the crash, failover and shutdown tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a worker that shares this test's database and Redis prefix."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{Path(db['NAME']).resolve()}"
    else:
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        url = f"mysql://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "SECRET_KEY": settings.SECRET_KEY,
        "STREAM_TRIM_COMMITTED": "0",
        "WORKER_BLOCK_MS": "20",
        "WRITE_BUFFER_MAX_DELAY_MS": "10",  # as in-process (tests/conftest.py quick_commits)
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


class WorkerProcess:
    def __init__(
        self, kind: str, shard: int, log_dir: Path, standby: bool = False, metrics_port: int = 0, **env: str
    ) -> None:
        self.kind = kind
        self.shard = shard
        self.standby = standby
        self.metrics_port = metrics_port
        self.log_path = log_dir / f"{kind}-{shard}-{time.monotonic_ns()}.log"
        self.env = worker_env(**env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        args = [sys.executable, "manage.py", f"run_{self.kind}", "--shard", str(self.shard)]
        if self.standby:
            args.append("--standby")
        if self.metrics_port:
            args += ["--metrics-port", str(self.metrics_port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> None:
        """For teardowns: SIGTERM, as terminate(); SIGKILL if it has not exited in time, then fail.

        Never left running: a worker left running goes on writing into the
        next test's database and Redis prefix.
        """
        if not self.alive:
            return
        try:
            self.terminate(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.kind}-{self.shard} did not exit within {timeout}s of SIGTERM"
            ) from None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def stop_all(workers: Iterable[WorkerProcess]) -> None:
    """Stop every one (WorkerProcess.stop), then fail if any did not exit on SIGTERM."""
    failures = []
    for worker in workers:
        try:
            worker.stop()
        except AssertionError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


def wait_for(
    condition: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
