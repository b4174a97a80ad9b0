"""Print Procfile lines for one accounts worker per accounts shard and one matching
worker per configured symbol shard (and the demo market maker when enabled), so
`make run` follows the configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exchange.services.local_processes import worker_processes


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-base-port", type=int, default=9100)

    def handle(self, *args: Any, **options: Any) -> None:
        processes = worker_processes(options["metrics_base_port"])
        lines = [f"{process.name}: {process.command}" for process in processes]
        if settings.MARKET_MAKER_ENABLED:
            # honcho stops every process when one exits: the line is there only when it runs.
            lines.append("market-maker: python manage.py run_market_maker")
        self.stdout.write("\n".join(lines))
