"""`manage.py audit`: check the exchange's books, also while it trades; exit 1 naming what is wrong.

Each finding is one line: the check, the asset, user or order, and the
figures. `--json` prints the same for machines. See the README's "Audit".
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from exchange.services.audit import run_audit
from spot.redis_connection import redis_client

SQLITE_NOTE = (
    "note: this database is SQLite, which keeps an amount other than a balance as a floating-point"
    " number of 15 to 16 significant digits: a finding past the 15th digit may be that rounding."
    " MariaDB and MySQL store every amount exactly: use them for anything but a demo"
    " (DATABASE_URL=mysql://...)."
)


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
            if connection.vendor == "sqlite":
                self.stderr.write(SQLITE_NOTE)
            sys.exit(1)
