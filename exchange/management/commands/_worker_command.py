"""What run_accounts and run_matching share: options, the metrics and probes port, logging of the exit."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exchange.pipeline import probes
from exchange.pipeline.allocator import keep_large_blocks_on_heap
from exchange.pipeline.worker import StageWorker
from persistence.write_buffer import enable_one_round_trip_commits

logger = logging.getLogger("spot.worker")


class WorkerCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shard", type=int, required=True)
        parser.add_argument(
            "--standby", action="store_true", help="Wait for the shard's lease instead of expecting to lead."
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=0,
            help="Serve /metrics and the probes /alive and /ready on this port (0: off).",
        )

    def make_worker(self, shard: int, standby: bool) -> StageWorker:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        # The flusher thread renders SQL while the loop matches: hand the GIL over
        # every 0.5 ms instead of CPython's 5 ms, or each entry can wait that long.
        sys.setswitchinterval(0.0005)
        keep_large_blocks_on_heap()
        enable_one_round_trip_commits()
        worker = self.make_worker(options["shard"], options["standby"])
        worker.owns_process = True
        if options["metrics_port"]:
            probes.serve(worker, options["metrics_port"])
        logger.info("%s starting%s", worker.name, " as standby" if options["standby"] else "")
        worker.run()
        if worker.exit_status:
            sys.exit(worker.exit_status)
