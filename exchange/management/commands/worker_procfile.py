"""Print Procfile lines for one accounts worker per accounts shard and one matching
worker per configured symbol shard, so `make run` follows the configuration."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exchange.services.local_processes import worker_processes


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-base-port", type=int, default=9100)

    def handle(self, *args: Any, **options: Any) -> None:
        processes = worker_processes(options["metrics_base_port"])
        self.stdout.write("\n".join(f"{process.name}: {process.command}" for process in processes))
