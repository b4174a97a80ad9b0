"""`manage.py audit`: check the exchange's books, also while it trades; exit 1 naming what is wrong.

Each finding is one line: the check, the asset, user or order, and the
figures. `--json` prints the same for machines. See the README's "Audit".
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exchange.services.audit import run_audit
from spot.redis_connection import redis_client


class Command(BaseCommand):
    help = "Check that orders are stored once, money is conserved and the ledger explains every balance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--attempts",
            type=int,
            default=3,
            help="Snapshots to take before a finding is reported (a fault fails every one).",
        )
        parser.add_argument("--pause", type=float, default=1.0, help="Seconds between two attempts.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = run_audit(redis_client(), attempts=max(1, options["attempts"]), pause=options["pause"])
        if options["json"]:
            self.stdout.write(report.as_json())
        else:
            self.stdout.write(report.as_table())
            for finding in report.findings():
                self.stdout.write(finding)
        if not report.ok:
            sys.exit(1)
