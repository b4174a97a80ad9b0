from __future__ import annotations

from exchange.management.commands._worker_command import WorkerCommand
from exchange.pipeline.worker import StageWorker
from exchange.pipeline.workers import AccountsWorker
from spot.redis_connection import worker_redis_client


class Command(WorkerCommand):
    help = "Run the accounts worker of one user partition (user_id % ACCOUNT_SHARDS)."

    def make_worker(self, shard: int, standby: bool) -> StageWorker:
        return AccountsWorker(shard, worker_redis_client(), standby)
