"""A worker's metrics port, with the two probes Kubernetes asks it.

- `/alive` (liveness): the loop came round within WORKER_STALL_S. A loop
  that faults (Redis or the database down) still comes round: restarting
  it would not help, so it stays alive.
- `/ready` (readiness): alive, and either holds the shard's lease or is a
  standby whose last try for it reached Redis and the database, so it can
  take over. Standbys are ready, or a PodDisruptionBudget would count a
  healthy shard as broken.

Everything else is Prometheus's /metrics. The loop only stores the time of
each step (a batch, not an entry); the probes read it from the server's
thread, so they cost the loop nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import make_wsgi_app

from exchange.pipeline.worker import StageWorker


@dataclass(frozen=True)
class Status:
    alive: bool
    ready: bool
    role: str  # leader, standby, waiting (for Redis or the database), stalled
    beat_age_s: float


def status(worker: StageWorker) -> Status:
    age = time.monotonic() - worker.beat
    if age >= settings.WORKER_STALL_S:
        return Status(False, False, "stalled", age)
    if worker.holds_lease:
        return Status(True, True, "leader", age)
    if worker.standby_ready:
        return Status(True, True, "standby", age)
    return Status(True, False, "waiting", age)


def probes_app(worker: StageWorker) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/alive", "/ready"):
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        current = status(worker)
        ok = current.alive if path == "/alive" else current.ready
        body = json.dumps(
            {"worker": worker.name, "role": current.role, "beat_age_s": round(current.beat_age_s, 3)}
        ).encode()
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


class ProbeServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a probe or a scrape never holds the process up at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A probe every few seconds is not worth a log line."""


def serve(worker: StageWorker, port: int, addr: str = "0.0.0.0") -> ProbeServer:  # noqa: S104  (probed from the node, scraped from other pods)
    """Serve /metrics, /alive and /ready on `port` (0: any free port) from a daemon thread."""
    server = make_server(addr, port, probes_app(worker), ProbeServer, handler_class=_QuietHandler)
    Thread(target=server.serve_forever, name=f"{worker.name}-probes", daemon=True).start()
    return server
