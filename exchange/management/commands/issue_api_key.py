"""`manage.py issue_api_key alice [--trade] [--label bot] [--public-key B64 | --hmac]`: an API key.

Ed25519 by default (the private key printed once, also as PEM for Binance's
clients on /api/v3); `--hmac` makes a key whose secret signs HMAC-SHA256 on
the Binance-compatible /api/v3 only (printed once, stored encrypted).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from exchange.management.commands._operator_command import OperatorCommand, user_named
from exchange.services.api_keys import InvalidPublicKey, issue_api_key, issue_hmac_key, private_key_pem


class Command(OperatorCommand):
    help = "Issue an API key to a user; the private key is printed once (unless the trader brought theirs)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--label", default="")
        parser.add_argument("--trade", action="store_true", help="The key may place and cancel orders.")
        parser.add_argument("--no-read", action="store_true", help="The key may not read (trade only).")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--public-key", default=None, help="The trader's own base64 Ed25519 public key.")
        kind.add_argument("--hmac", action="store_true", help="An HMAC key for Binance's clients on /api/v3.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["username"])
        try:
            with transaction.atomic():
                scopes = {"can_read": not options["no_read"], "can_trade": options["trade"]}
                if options["hmac"]:
                    issued = issue_hmac_key(user, label=options["label"], **scopes)
                else:
                    issued = issue_api_key(
                        user, label=options["label"], public_key=options["public_key"], **scopes
                    )
                self.record(
                    "issue_api_key",
                    f"key {issued.api_key.key_id}",
                    {
                        "user_id": user.pk,
                        "scopes": issued.api_key.scopes,
                        "label": options["label"],
                        "kind": issued.api_key.kind,
                    },
                )
        except InvalidPublicKey as exc:
            raise CommandError(f"--public-key: {exc}") from None
        self.done(
            f"issued {issued.api_key.key_id} to {user.get_username()} ({', '.join(issued.api_key.scopes)})"
        )
        if issued.private_key is not None:
            self.stdout.write(f"private key: {issued.private_key}  (shown once, never stored)")
            self.stdout.write("the same as PEM, for Binance's clients on /api/v3:")
            self.stdout.write(private_key_pem(issued.private_key).rstrip())
        if issued.secret is not None:
            self.stdout.write(f"secret: {issued.secret}  (shown once; signs HMAC-SHA256 on /api/v3 only)")
