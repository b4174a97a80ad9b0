"""`manage.py create_asset BTC --name Bitcoin --precision 8`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from exchange.management.commands._operator_command import OperatorCommand
from exchange.models import Asset


class Command(OperatorCommand):
    help = "Create an asset."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("code")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--precision", type=int, default=8, help="Decimal places shown to traders (0-18)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        asset = Asset(code=options["code"], name=options["name"], display_precision=options["precision"])
        try:
            asset.full_clean()
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        if not 0 <= asset.display_precision <= 18:
            raise CommandError("--precision must be between 0 and 18")
        with transaction.atomic():
            asset.save()
            self.record("create_asset", f"asset {asset.code}", {"precision": asset.display_precision})
        self.done(f"created asset {asset.code} ({asset.display_precision} places)")


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
