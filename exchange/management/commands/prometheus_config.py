"""Print a Prometheus config scraping the processes of `make run` (what `make observe` runs)."""

from __future__ import annotations

import os
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandParser

from exchange.services.local_processes import Process, prometheus_config, worker_processes


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-base-port", type=int, default=9100, help="As for worker_procfile.")
        parser.add_argument("--web-port", type=int, default=int(os.environ.get("SPOT_PORT", "8000")))
        parser.add_argument("--api-port", type=int, default=int(os.environ.get("SPOT_API_PORT", "8001")))
        parser.add_argument(
            "--exporter",
            action="append",
            default=[],
            metavar="COMPONENT=PORT",
            help="Also scrape an exporter, e.g. redis-exporter=9121 (repeatable).",
        )
        parser.add_argument("--interval", default="5s", help="Scrape and rule evaluation interval.")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = [
            Process("web", "web", options["web_port"]),
            Process("api", "api", options["api_port"]),
            *worker_processes(options["metrics_base_port"]),
        ]
        for exporter in options["exporter"]:
            component, _, port = exporter.partition("=")
            targets.append(Process(component, component, int(port)))
        config = prometheus_config(targets, interval=options["interval"])
        self.stdout.write(yaml.safe_dump(config, sort_keys=False))
