"""`manage.py dead_letters list|replay|discard`: the console's dead-letter page from a shell.

manage.py dead_letters list [--worker accounts-0]
manage.py dead_letters replay accounts-0 1764000000000-0
manage.py dead_letters discard matching-3 1764000000000-1
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from exchange.management.commands._operator_command import OperatorCommand
from exchange.services import dead_letters, operator_log
from spot.redis_connection import redis_client


class Command(OperatorCommand):
    help = "List, replay or discard the workers' dead letters."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("verb", choices=["list", "replay", "discard"])
        parser.add_argument("worker", nargs="?", help="accounts-0, matching-3, ... (replay, discard)")
        parser.add_argument("id", nargs="?", help="The dead letter's id (replay, discard).")
        parser.add_argument("--worker", dest="only", default=None, help="list: only this worker's.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = redis_client()
        if options["verb"] == "list":
            letters = dead_letters.dead_letters(client, options["only"])
            for letter in letters:
                replay = "" if letter.replayable else "  (settlement group: discard only)"
                self.stdout.write(
                    f"{letter.worker}  {letter.id}  entry {letter.entry}  {letter.reason}{replay}"
                )
                self.stdout.write(f"    {letter.summary}")
            self.done(f"{len(letters)} dead letter(s)")
            return
        worker, letter_id = options["worker"], options["id"]
        if not worker or not letter_id:
            raise CommandError(f"{options['verb']} needs the worker and the dead letter's id")
        try:
            if options["verb"] == "replay":
                entry = dead_letters.replay(
                    client, worker, letter_id, self.operator, via=operator_log.COMMAND
                )
                self.done(f"{worker} dead letter {letter_id} replayed as entry {entry}")
            else:
                dead_letters.discard(client, worker, letter_id, self.operator, via=operator_log.COMMAND)
                self.done(f"{worker} dead letter {letter_id} discarded")
        except dead_letters.DeadLetterError as exc:
            raise CommandError(str(exc)) from None
