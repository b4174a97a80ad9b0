"""`manage.py cancel_orders --user alice [--market BTC/USDT]` or `--market BTC/USDT`: kill switches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from exchange.management.commands._operator_command import OperatorCommand, user_named
from exchange.models import Market
from exchange.services import kill_switches, operator_log


class Command(OperatorCommand):
    help = "Cancel every open order of a user (optionally in one market), or of a market."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--user", default=None, help="Cancel this user's orders.")
        parser.add_argument(
            "--market", default=None, help="Only in this market; alone: every user's orders in it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username, symbol = options["user"], options["market"]
        if not username and not symbol:
            raise CommandError("give --user, --market, or both")
        market = None
        if symbol:
            market = Market.objects.filter(symbol=symbol).first()
            if market is None:
                raise CommandError(f"no market {symbol!r}")
        if username:
            user = user_named(username)
            switched = kill_switches.cancel_user_orders(user, self.operator, symbol, via=operator_log.COMMAND)
            scope = f"{user.get_username()}'s orders" + (f" in {symbol}" if symbol else "")
        else:
            assert market is not None
            switched = kill_switches.cancel_market_orders(market, self.operator, via=operator_log.COMMAND)
            scope = f"every order in {symbol}"
        self.done(f"cancel of {scope} sent (entries {', '.join(switched.entries)}); the workers apply it")
