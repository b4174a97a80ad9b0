"""Which database answers a trader's read: the replica while it is fresh enough, else the primary.

Freshness is measured on what traders read, the pipeline's commits: each
worker's commit stamps its stream offset row (persistence.StreamOffset.updated_at)
in the same transaction as its rows. The replica's lag is how far its newest
stamp is behind the primary's; while it is over DATABASE_REPLICA_MAX_LAG_MS,
or the replica cannot be read, reads go to the primary. The check runs at
most once a second per process (two indexed one-row reads).

What a trader must find at once is never read here: an order by its id or
client order id, the checks of order entry, and every write use the
primary, so an order just placed is always found (read your own writes).
Lists may trail the engine by the pipeline's commit delay plus the
replica's lag, at most the bound.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max
from prometheus_client import Gauge

from persistence.models import StreamOffset

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
CHECK_INTERVAL_S = 1.0

REPLICA_LAG = Gauge(
    "spot_db_replica_lag_seconds", "How far the read replica's newest pipeline commit trails the primary's"
)
REPLICA_IN_USE = Gauge("spot_db_replica_in_use", "1 while traders' reads go to the replica, 0 on the primary")


class ReplicaChooser:
    def __init__(self) -> None:
        self._checked_at = float("-inf")
        self._alias = PRIMARY

    def alias(self) -> str:
        if REPLICA not in settings.DATABASES:
            return PRIMARY
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_S:
            self._checked_at = now
            self._alias = REPLICA if self._fresh() else PRIMARY
            REPLICA_IN_USE.set(1 if self._alias == REPLICA else 0)
        return self._alias

    def forget(self) -> None:
        self._checked_at = float("-inf")

    def _fresh(self) -> bool:
        try:
            primary = _newest_commit(PRIMARY)
            replica = _newest_commit(REPLICA)
        except DatabaseError as exc:
            logger.warning("the read replica cannot be read, reading the primary: %s", exc)
            return False
        if primary is None:
            lag_s = 0.0
        elif replica is None:
            lag_s = float("inf")
        else:
            lag_s = max(0.0, (primary - replica).total_seconds())
        REPLICA_LAG.set(lag_s if lag_s != float("inf") else -1)
        return lag_s * 1000 <= settings.DATABASE_REPLICA_MAX_LAG_MS


def _newest_commit(alias: str) -> datetime | None:
    newest: datetime | None = StreamOffset.objects.using(alias).aggregate(newest=Max("updated_at"))["newest"]
    return newest


replica_chooser = ReplicaChooser()


def reader() -> str:
    """The database alias for a trader's read query."""
    return replica_chooser.alias()
