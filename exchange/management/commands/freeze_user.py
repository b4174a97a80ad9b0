"""`manage.py freeze_user alice [--reason ...]`, or `--restore-flags` after Redis lost its data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from exchange.management.commands._operator_command import OperatorCommand, user_named
from exchange.services import kill_switches, operator_log


class Command(OperatorCommand):
    help = "Freeze a user: their new orders are refused (403 ACCOUNT_FROZEN); open orders stay."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username", nargs="?")
        parser.add_argument("--reason", default="")
        parser.add_argument(
            "--restore-flags",
            action="store_true",
            help="Rebuild the API's frozen flags in Redis from the database (after Redis lost its data).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["restore_flags"]:
            count = kill_switches.restore_frozen_flags()
            self.record("restore_frozen_flags", "all accounts shards", {"frozen_users": count})
            self.done(f"frozen flags restored: {count} user(s) frozen")
            return
        if not options["username"]:
            raise CommandError("name the user to freeze (or give --restore-flags)")
        user = user_named(options["username"])
        switched = kill_switches.freeze_user(user, self.operator, options["reason"], via=operator_log.COMMAND)
        state = "frozen" if switched.changed else "was already frozen"
        self.done(
            f"{user.get_username()} {state}: new orders are refused; cancel_orders cancels the open ones"
        )
