"""`manage.py issue_api_key alice [--trade] [--label bot] [--public-key B64]`: an Ed25519 API key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from exchange.management.commands._operator_command import OperatorCommand, user_named
from exchange.services.api_keys import InvalidPublicKey, issue_api_key


class Command(OperatorCommand):
    help = "Issue an API key to a user; the private key is printed once (unless the trader brought theirs)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--label", default="")
        parser.add_argument("--trade", action="store_true", help="The key may place and cancel orders.")
        parser.add_argument("--no-read", action="store_true", help="The key may not read (trade only).")
        parser.add_argument("--public-key", default=None, help="The trader's own base64 Ed25519 public key.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["username"])
        try:
            with transaction.atomic():
                issued = issue_api_key(
                    user,
                    label=options["label"],
                    can_read=not options["no_read"],
                    can_trade=options["trade"],
                    public_key=options["public_key"],
                )
                self.record(
                    "issue_api_key",
                    f"key {issued.api_key.key_id}",
                    {"user_id": user.pk, "scopes": issued.api_key.scopes, "label": options["label"]},
                )
        except InvalidPublicKey as exc:
            raise CommandError(f"--public-key: {exc}") from None
        self.done(
            f"issued {issued.api_key.key_id} to {user.get_username()} ({', '.join(issued.api_key.scopes)})"
        )
        if issued.private_key is not None:
            self.stdout.write(f"private key: {issued.private_key}  (shown once, never stored)")
