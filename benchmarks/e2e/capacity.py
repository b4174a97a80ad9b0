"""A capacity model from the measured CPU per order of each process: what 5,000 and 10,000 orders/s need.

The end-to-end benchmark (benchmarks.e2e.run) measures each process's CPU
per order on this machine. Scaled linearly to a target rate, at a planned
utilization, that gives the vCPUs of each component; the components that are
one thread per shard (an accounts worker, a matching worker, a Redis
instance) also give how many shards the rate needs. Prices are the plan's
(PLAN.md §7.1, on-demand): an EKS node c6i.2xlarge (8 vCPU) at $220 a month,
a Multi-AZ db.r6g.xlarge (4 vCPU) at $450, an ElastiCache r6g.large node at
$130, and the fixed EKS control plane, ALB and data transfer at $152.

The plan's own budget (§4.1): 5 API servers of 4 vCPU and 10 matching
workers of 2 vCPU, about 40 vCPUs for the application.
"""

from __future__ import annotations

import math
from typing import Any

TARGETS = (5_000, 10_000)
UTILIZATION = 0.7  # planned peak use of a vCPU: headroom for bursts and a lost node
SECONDS_A_MONTH = 30 * 24 * 3600

NODE_VCPU, NODE_MONTHLY = 8, 220.0
DATABASE_VCPU, DATABASE_MONTHLY = 4, 450.0
REDIS_NODE_MONTHLY = 130.0
FIXED_MONTHLY = 72.0 + 30.0 + 50.0
PLAN_APPLICATION_VCPU = 5 * 4 + 10 * 2

APPLICATION = ("api", "web", "accounts", "matching", "invariants")
ONE_THREAD_PER_SHARD = {
    "accounts": "accounts shards",
    "matching": "busy symbols' shards",
    "redis": "Redis masters",
}


def capacity_rows(cpu_us: dict[str, float], rate: int) -> list[tuple[str, float, float, int | None]]:
    """(component, µs an order, vCPUs at the rate and planned utilization, shards it needs or None)."""
    rows = []
    for name, micros in sorted(cpu_us.items()):
        vcpus = rate * micros / 1e6 / UTILIZATION
        shards = math.ceil(vcpus) if name in ONE_THREAD_PER_SHARD else None
        rows.append((name, micros, vcpus, shards))
    return rows


def monthly_cost(cpu_us: dict[str, float], rate: int) -> float:
    application = sum(rate * cpu_us.get(name, 0.0) / 1e6 / UTILIZATION for name in APPLICATION)
    database = rate * cpu_us.get("mariadb", 0.0) / 1e6 / UTILIZATION
    redis = rate * cpu_us.get("redis", 0.0) / 1e6 / UTILIZATION
    return (
        math.ceil(application / NODE_VCPU) * NODE_MONTHLY
        + math.ceil(database / DATABASE_VCPU) * DATABASE_MONTHLY
        # Each master with a replica (r6g.large nodes): one thread serves a master.
        + 2 * math.ceil(redis) * REDIS_NODE_MONTHLY
        + FIXED_MONTHLY
    )


def print_capacity(row: dict[str, Any], grouped: dict[str, float]) -> None:
    """The model from one measured rate's CPU per order (the load generator left out)."""
    cpu_us = {name: value for name, value in grouped.items() if name not in ("sender", "listener")}
    print(
        f"\nCapacity model from the CPU per order measured at {row['offered']:,}/s offered "
        f"({row['achieved']:,.0f}/s achieved), at {UTILIZATION:.0%} planned utilization:\n"
    )
    print("| component | µs an order | " + " | ".join(f"vCPUs at {t:,}/s" for t in TARGETS) + " | shards |")
    print("|---" * (len(TARGETS) + 3) + "|")
    per_target = {target: capacity_rows(cpu_us, target) for target in TARGETS}
    for index, (name, micros, _, _) in enumerate(per_target[TARGETS[0]]):
        cells = " | ".join(f"{per_target[t][index][2]:,.1f}" for t in TARGETS)
        shards = " / ".join(
            str(per_target[t][index][3]) for t in TARGETS if per_target[t][index][3] is not None
        )
        label = f"{shards} {ONE_THREAD_PER_SHARD[name]}" if name in ONE_THREAD_PER_SHARD else ""
        print(f"| {name} | {micros:,.0f} | {cells} | {label} |")
    matching = cpu_us.get("matching", 0.0)
    if matching:
        print(
            f"\nOne symbol is matched by one thread: at most {UTILIZATION * 1e6 / matching:,.0f} orders/s "
            f"a symbol at this cost (its shard may hold several symbols)."
        )
    for target in TARGETS:
        application = sum(vcpus for name, _, vcpus, _ in per_target[target] if name in APPLICATION)
        total = sum(vcpus for _, _, vcpus, _ in per_target[target])
        cost = monthly_cost(cpu_us, target)
        per_million = cost / (target * SECONDS_A_MONTH) * 1e6
        print(
            f"\n{target:,}/s: {application:,.1f} application vCPUs (the plan budgets {PLAN_APPLICATION_VCPU}), "
            f"{total:,.1f} with MariaDB and Redis; ${cost:,.0f} a month on demand at the plan's prices, "
            f"${per_million:.3f} a million orders"
        )
