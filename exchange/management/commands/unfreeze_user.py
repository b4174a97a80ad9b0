"""`manage.py unfreeze_user alice`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from exchange.management.commands._operator_command import OperatorCommand, user_named
from exchange.services import kill_switches, operator_log


class Command(OperatorCommand):
    help = "Unfreeze a user: their new orders are accepted again."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["username"])
        switched = kill_switches.unfreeze_user(user, self.operator, via=operator_log.COMMAND)
        self.done(f"{user.get_username()} {'unfrozen' if switched.changed else 'was not frozen'}")
