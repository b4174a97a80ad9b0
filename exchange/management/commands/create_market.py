"""`manage.py create_market ETH/USDT --tick 0.01 --lot 0.0001 [...]`, announced to the workers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from exchange.management.commands._operator_command import OperatorCommand, decimal_argument
from exchange.management.commands.create_asset import _messages
from exchange.models import Asset, Market, MarketStatus
from exchange.routing import SymbolRouter
from exchange.services.markets import announce_market_change


class Command(OperatorCommand):
    help = (
        "Create a market between two existing assets and tell the workers, as the admin's market form does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("symbol", help="BASE/QUOTE, e.g. ETH/USDT; both assets must exist.")
        parser.add_argument("--tick", required=True, help="Price increment, in quote.")
        parser.add_argument("--lot", required=True, help="Quantity increment, in base.")
        parser.add_argument("--min-quantity", default="0")
        parser.add_argument("--min-notional", default="0")
        parser.add_argument("--maker-fee", default="0.001", help="Fee rate as a fraction (0.001 = 0.1 %%).")
        parser.add_argument("--taker-fee", default="0.001")
        parser.add_argument("--shard", type=int, default=None, help="Pin to a matching shard.")
        parser.add_argument("--halted", action="store_true", help="Create it halted.")

    def handle(self, *args: Any, **options: Any) -> None:
        symbol = options["symbol"]
        base_code, _, quote_code = symbol.partition("/")
        assets = {asset.code: asset for asset in Asset.objects.filter(code__in=[base_code, quote_code])}
        missing = [code for code in (base_code, quote_code) if code and code not in assets]
        if missing:
            raise CommandError(f"unknown asset {', '.join(missing)}; create it first (create_asset)")
        if Market.objects.filter(symbol=symbol).exists():
            raise CommandError(f"market {symbol} already exists")
        market = Market(
            symbol=symbol,
            base=assets.get(base_code),
            quote=assets.get(quote_code),
            tick_size=decimal_argument(options["tick"], "--tick"),
            lot_size=decimal_argument(options["lot"], "--lot"),
            min_quantity=decimal_argument(options["min_quantity"], "--min-quantity"),
            min_notional=decimal_argument(options["min_notional"], "--min-notional"),
            maker_fee_rate=decimal_argument(options["maker_fee"], "--maker-fee"),
            taker_fee_rate=decimal_argument(options["taker_fee"], "--taker-fee"),
            shard_override=options["shard"],
            status=MarketStatus.HALTED if options["halted"] else MarketStatus.TRADING,
        )
        try:
            market.full_clean()
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        with transaction.atomic():
            market.save()
            # Sent once the market row is committed, so a worker reloading finds it.
            announce_market_change()
            self.record("create_market", f"market {symbol}", {"status": market.status})
        shard = SymbolRouter.from_settings().shard_for_market(market)
        self.done(f"created market {symbol} ({market.status}, matching shard {shard}); the workers are told")
