"""Print Procfile lines for one accounts worker per accounts shard and one matching
worker per configured symbol shard, so `make run` follows the configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exchange.models import Market
from exchange.routing import SymbolRouter


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--metrics-base-port", type=int, default=9100)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["metrics_base_port"]
        router = SymbolRouter.from_settings()
        shards = set(router.configured_shards())
        shards.update(s for s in Market.objects.values_list("shard_override", flat=True) if s is not None)
        lines = []
        for shard in range(settings.ACCOUNT_SHARDS):
            lines.append(
                f"accounts-{shard}: python manage.py run_accounts --shard {shard} --metrics-port {port}"
            )
            port += 1
        for shard in sorted(shards):
            lines.append(
                f"matching-{shard}: python manage.py run_matching --shard {shard} --metrics-port {port}"
            )
            port += 1
        self.stdout.write("\n".join(lines))
