"""`manage.py revoke_api_key sk_... [sk_...]`: revoke API keys; every API process refuses them at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from exchange.management.commands._operator_command import OperatorCommand
from exchange.models import ApiKey


class Command(OperatorCommand):
    help = "Revoke API keys by key id."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("key_ids", nargs="+", metavar="key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = {key.key_id: key for key in ApiKey.objects.filter(key_id__in=options["key_ids"])}
        unknown = [key_id for key_id in options["key_ids"] if key_id not in keys]
        if unknown:
            raise CommandError(f"no API key {', '.join(unknown)}; nothing revoked")
        for key in keys.values():
            was_active = key.is_active
            key.revoke()  # its post_save signal marks it revoked in Redis (exchange.api.keys)
            self.record(
                "revoke_api_key", f"key {key.key_id}", {"user_id": key.user_id, "was_active": was_active}
            )
        self.done(f"revoked {len(keys)} key(s): {', '.join(keys)}")
