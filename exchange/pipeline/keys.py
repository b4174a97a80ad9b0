"""Redis key names of the pipeline.

Every key a worker touches atomically carries its shard's hash tag
(`{a0}`, `{m3}`), so the pipeline also runs on Redis Cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ShardKeys:
    prefix: str
    tag: str  # "a0" for accounts shard 0, "m3" for matching shard 3

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{{self.tag}}}:{name}"

    @property
    def stream(self) -> str:
        return self._key("in")

    @property
    def dead_letters(self) -> str:
        return self._key("dlq")

    @property
    def lease(self) -> str:
        return self._key("lease")

    @property
    def epoch(self) -> str:
        return self._key("epoch")

    @property
    def standbys(self) -> str:
        """Workers waiting for the lease: identity -> when each last said so (Unix ms)."""
        return self._key("standbys")

    @property
    def frozen(self) -> str:
        """User ids of this accounts shard whose new orders are refused (exchange.services.kill_switches)."""
        return self._key("frozen")

    @property
    def events(self) -> str:
        return self._key("events")

    def client_order_id(self, user_id: int, client_order_id: str) -> str:
        return self._key(f"cid:{user_id}:{client_order_id}")

    def funds_request(self, request_id: str) -> str:
        return self._key(f"funds:{request_id}")


def accounts_keys(shard: int, prefix: str | None = None) -> ShardKeys:
    return ShardKeys(prefix or settings.REDIS_KEY_PREFIX, f"a{shard}")


def matching_keys(shard: int, prefix: str | None = None) -> ShardKeys:
    return ShardKeys(prefix or settings.REDIS_KEY_PREFIX, f"m{shard}")


CONSUMER_GROUP = "workers"
