"""A real daphne serving spot.asgi on a free local port, sharing the test's database and Redis prefix."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from spot.embedded_redis import free_port
from tests.pipeline.processes import ROOT, worker_env

# A cap, not an expectation: daphne listens within seconds, unless the machine is very busy.
START_TIMEOUT_S = 120


class Daphne:
    def __init__(self, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"daphne-{self.port}.log"
        self.env = worker_env(
            WS_READ_BLOCK_MS="200",
            ALLOWED_HOSTS="127.0.0.1",
            API_RATE_LIMIT_PER_S="10000",
            API_RATE_LIMIT_BURST="10000",
            API_PUBLIC_RATE_LIMIT_PER_S="10000",
            API_PUBLIC_RATE_LIMIT_BURST="10000",
            **env,
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_S) -> Daphne:
        args = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "spot.asgi:application",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daphne exited at start:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()  # not left running, to write into the next test's database and prefix
        raise AssertionError(f"daphne did not listen within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @contextmanager
    def client(self, headers: dict[str, str] | None = None, **options: Any) -> Iterator[Client]:
        with ws_connect(self.ws_url, additional_headers=headers, open_timeout=10, **options) as connection:
            yield Client(connection)


class Client:
    """A blocking WebSocket client speaking the /ws/ protocol in JSON."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, frame: dict[str, Any]) -> None:
        self.connection.send(json.dumps(frame))

    def receive(self, timeout: float = 5) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.connection.recv(timeout=timeout))
        return frame

    def request(self, frame: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
        self.send(frame)
        return self.receive(timeout)

    def receive_until(
        self, predicate: Any, timeout: float = 5
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The first frame for which predicate holds, and every frame before it."""
        deadline = time.monotonic() + timeout
        skipped: list[dict[str, Any]] = []
        while True:
            frame = self.receive(max(0.01, deadline - time.monotonic()))
            if predicate(frame):
                return frame, skipped
            skipped.append(frame)
