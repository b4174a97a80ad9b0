"""Print Procfile lines for one accounts worker per accounts shard and one matching
worker per configured symbol shard (and the demo market maker when enabled), so
`make run` follows the configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exchange.services.invariants import matching_shards


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-base-port", type=int, default=9100)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["metrics_base_port"]
        lines = []
        for shard in range(settings.ACCOUNT_SHARDS):
            lines.append(
                f"accounts-{shard}: python manage.py run_accounts --shard {shard} --metrics-port {port}"
            )
            port += 1
        for shard in matching_shards():
            lines.append(
                f"matching-{shard}: python manage.py run_matching --shard {shard} --metrics-port {port}"
            )
            port += 1
        lines.append(f"invariants: python manage.py run_invariants --metrics-port {port}")
        if settings.MARKET_MAKER_ENABLED:
            # honcho stops every process when one exits: the line is there only when it runs.
            lines.append("market-maker: python manage.py run_market_maker")
        self.stdout.write("\n".join(lines))
