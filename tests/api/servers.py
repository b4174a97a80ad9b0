"""The API's two real servers in subprocesses: daphne (spot.asgi) and granian (exchange.api.serving).

Both share the test's database and Redis prefix (tests.pipeline.processes.worker_env),
so the test's data must be committed (transactional_db).
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from spot.embedded_redis import free_port
from tests.api.support import Reply
from tests.pipeline.processes import ROOT, worker_env

COMMANDS = {
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "spot.asgi:application"],
    "granian": [
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--workers",
        "1",
        "--no-access-log",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "exchange.api.serving:application",
    ],
}


# A cap, not an expectation: a server listens within seconds, unless the machine is very busy.
START_TIMEOUT_S = 120


class ServedApi:
    def __init__(self, kind: str, log_dir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.log_path = log_dir / f"{kind}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> ServedApi:
        args = [sys.executable, *(arg.format(port=self.port) for arg in COMMANDS[self.kind])]
        env = worker_env(
            ALLOWED_HOSTS="127.0.0.1",
            API_RATE_LIMIT_PER_S="10000",
            API_RATE_LIMIT_BURST="10000",
            API_PUBLIC_RATE_LIMIT_PER_S="10000",
            API_PUBLIC_RATE_LIMIT_BURST="10000",
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.kind} exited at start:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)  # waiting for the port to open, not for an outcome
        self.stop()  # not left running, to write into the next test's database and prefix
        raise AssertionError(f"{self.kind} did not listen within {timeout}s:\n{self.log()}")

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

    def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        """One request with the target sent byte for byte as given (a Transport of tests.api.support)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, target, body, {**headers, "Content-Type": "application/json"})
            response = connection.getresponse()
            # daphne sends header names in lower case
            headers = {name.title(): value for name, value in response.getheaders()}
            return Reply(response.status, headers, response.read())
        finally:
            connection.close()
