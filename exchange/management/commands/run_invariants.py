"""`manage.py run_invariants`: the live audit, every interval, as Prometheus gauges.

Serves /metrics on --metrics-port; each gauge is zero while the books are
right and the workers keep up (exchange/services/invariants.py). --once runs
one audit, prints the figures and exits 1 if any is not zero.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from prometheus_client import start_http_server

from exchange.services.invariants import Measurement, measure_and_export
from spot.redis_connection import redis_client


class Command(BaseCommand):
    help = "Export the money invariants, dead letters and stream backlog for Prometheus, every interval."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.INVARIANTS_INTERVAL,
            help="Seconds between two audits (INVARIANTS_INTERVAL).",
        )
        parser.add_argument("--metrics-port", type=int, default=0, help="Serve /metrics on this port.")
        parser.add_argument("--once", action="store_true", help="Audit once, print the figures and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = redis_client()
        if options["once"]:
            result = measure_and_export(client)
            if result is None:
                sys.exit(2)
            self.stdout.write(describe(result))
            sys.exit(0 if all_zero(result) else 1)
        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr="0.0.0.0")  # noqa: S104  (scraped from other pods)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stderr.write(f"live audit every {options['interval']} s")
        while not stop.is_set():
            close_old_connections()
            measure_and_export(client)
            stop.wait(options["interval"])


def all_zero(result: Measurement) -> bool:
    return not (
        any(result.conservation.values())
        or any(result.locked_excess.values())
        or result.negative_balances
        or any(result.dead_letters.values())
    )


def describe(result: Measurement) -> str:
    lines = [f"{'figure':<44} value"]
    for code, value in sorted(result.conservation.items()):
        lines.append(f"{'conservation difference ' + code:<44} {value:g}")
    for code, value in sorted(result.locked_excess.items()):
        lines.append(f"{'locked minus open holds ' + code:<44} {value:g}")
    lines.append(f"{'negative balances':<44} {result.negative_balances}")
    for name, count in sorted(result.dead_letters.items()):
        lines.append(f"{'dead letters ' + name:<44} {count}")
    for name, age in sorted(result.oldest_unprocessed.items()):
        lines.append(f"{'oldest unprocessed entry (s) ' + name:<44} {age:.1f}")
    return "\n".join(lines)
