"""The frozen flags an accounts shard's place script reads, raised again from the database.

A freeze writes its FrozenAccount row and adds the user to the shard's
`frozen` set (exchange.services.kill_switches). If Redis loses its data,
the sets go with it, and so do the leases: every worker stands down and
takes its shard again, and the accounts worker raises its shard's flags
again here as it does. Flags are only added, never removed: a freeze
committing meanwhile has already added its own, and removing one belongs
to an unfreeze alone.
"""

from __future__ import annotations

import redis

from exchange.models import FrozenAccount
from exchange.pipeline.keys import ShardKeys
from exchange.routing import account_shard_for


def raise_frozen_flags(client: redis.Redis, keys: ShardKeys, shard: int, account_shards: int) -> int:
    """Add every frozen user of the shard to its frozen set; how many there are."""
    user_ids = [
        user_id
        for user_id in FrozenAccount.objects.values_list("user_id", flat=True)
        if account_shard_for(user_id, account_shards) == shard
    ]
    if user_ids:
        client.sadd(keys.frozen, *user_ids)
    return len(user_ids)
