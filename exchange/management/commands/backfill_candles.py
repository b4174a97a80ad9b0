"""Fold trades made before live candles into minute candles (exchange.services.candles)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.models import Market
from exchange.services.candles import backfill, backfill_until


class Command(BaseCommand):
    help = (
        "Write one-minute candles for each market's trades older than its first live candle. "
        "Safe beside live trading and to run again: only minutes without a candle are written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--market", action="append", help="e.g. BTC/USDT (repeatable); default: every market"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        markets = Market.objects.order_by("symbol")
        if options["market"]:
            markets = markets.filter(symbol__in=options["market"])
            missing = set(options["market"]) - set(markets.values_list("symbol", flat=True))
            if missing:
                raise CommandError(f"no such market: {', '.join(sorted(missing))}")
        for market in markets:
            until = backfill_until(market)
            written = backfill(market, until)
            self.stdout.write(f"{market.symbol}: {written} candle(s) before {until:%Y-%m-%d %H:%M} UTC")
