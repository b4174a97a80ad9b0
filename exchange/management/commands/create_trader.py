"""`manage.py create_trader alice [--email ...] [--api-key [--trade]]`: a trader, maybe with an API key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from exchange.management.commands._operator_command import OperatorCommand
from exchange.services.api_keys import issue_api_key


class Command(OperatorCommand):
    help = "Create a trader (no password: traders use API keys); optionally issue an API key at once."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--api-key", action="store_true", help="Also issue an API key (read scope).")
        parser.add_argument("--trade", action="store_true", help="The API key may trade too.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        model = get_user_model()
        if model.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        with transaction.atomic():
            user = model.objects.create_user(username, email=options["email"])
            user.set_unusable_password()
            user.save(update_fields=["password"])
            issued = None
            if options["api_key"]:
                issued = issue_api_key(user, label="created with the trader", can_trade=options["trade"])
            self.record(
                "create_trader",
                f"user {username}",
                {"user_id": user.pk, "api_key": issued.api_key.key_id if issued else None},
            )
        self.done(f"created trader {username} (id {user.pk})")
        if issued is not None:
            self.stdout.write(f"api key id:  {issued.api_key.key_id}")
            self.stdout.write(f"private key: {issued.private_key}  (shown once, never stored)")
