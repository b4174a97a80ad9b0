"""Where a fill's time went: the taker's request to its fill, split at each stage the order passed.

The pipeline keeps each order's journey (exchange/pipeline/journey.py): its
acceptance (the API's XADD; the entry id's millisecond on Redis's clock),
the accounts stage's take-up and send, the matching stage's take-up and
send. With the sender's request time and the listener's arrival of the fill,
a taker's REST → private fill splits into six segments:

- api: the request sent → the command in the accounts stream;
- accounts queue: → the accounts stage takes it up;
- accounts: the stage's work, to the batch sent to matching;
- to matching: → the matching stage takes it up;
- matching: the stage's work, to its outputs sent;
- to the trader: → the fill read by the listener (Redis's publication,
  daphne, the WebSocket).

Every clock is this machine's wall clock. Acceptance has millisecond
precision, so "api" reads up to a millisecond short and "accounts queue" as
much long; their sum is exact. Journeys are read once the stack has stopped
(its workers commit them with their last batches).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

SEGMENTS = ("api", "accounts queue", "accounts", "to matching", "matching", "to the trader")
TAIL_SHARE = 0.01  # the slowest fills whose split is shown
QUERY_CHUNK = 5_000
MAX_FILLS = 100_000  # a longer phase (a soak) is sampled evenly: the split needs no more


class TakerFill(NamedTuple):
    order_id: int
    sent_ns: int  # the taker's request, as the sender wrote it
    received_ns: int  # its fill, as the listener read it


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum (NaN for none): every latency figure of the e2e benchmark."""
    if not values:
        return (float("nan"),) * 3
    ordered = sorted(values)
    return (
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        ordered[-1],
    )


def segments_ms(fill: TakerFill, journey: Sequence[int | None]) -> tuple[float, ...] | None:
    """The six segments of one fill in ms; None without every stage's time (an older command)."""
    stages = [stage for stage in journey if stage is not None]
    if len(stages) != len(journey):
        return None
    points = [fill.sent_ns / 1000, *stages, fill.received_ns / 1000]
    return tuple((later - earlier) / 1000 for earlier, later in itertools.pairwise(points))


def load_journeys(order_ids: list[int]) -> dict[int, tuple[int | None, ...]]:
    """Each order's stage times, acceptance to matching's send (the commit is off the fill's path)."""
    from exchange.models import OrderJourney
    from exchange.pipeline.journey import JOURNEY_FIELDS

    fields = JOURNEY_FIELDS[: JOURNEY_FIELDS.index("matching_out_us") + 1]
    found: dict[int, tuple[int | None, ...]] = {}
    for start in range(0, len(order_ids), QUERY_CHUNK):
        chunk = OrderJourney.objects.filter(order_id__in=order_ids[start : start + QUERY_CHUNK])
        found.update((row[0], row[1:]) for row in chunk.values_list(*fields))
    return found


def split(fills: list[TakerFill], journeys: Mapping[int, Sequence[int | None]]) -> dict[str, Any]:
    """Each segment's p50 and p99 over all fills, and its mean over the slowest TAIL_SHARE of them."""
    split_fills = []
    for fill in fills:
        journey = journeys.get(fill.order_id)
        parts = segments_ms(fill, journey) if journey is not None else None
        if parts is not None:
            split_fills.append(((fill.received_ns - fill.sent_ns) / 1e6, parts))
    if not split_fills:
        return {"fills": 0}
    split_fills.sort(key=lambda item: item[0])
    tail = split_fills[-max(1, int(len(split_fills) * TAIL_SHARE)) :]
    by_segment = [percentiles([parts[i] for _, parts in split_fills]) for i in range(len(SEGMENTS))]
    return {
        "fills": len(split_fills),
        "tail_fills": len(tail),
        "tail_from_ms": tail[0][0],
        "p50": [p50 for p50, _, _ in by_segment],
        "p99": [p99 for _, p99, _ in by_segment],
        "tail_mean": [sum(parts[i] for _, parts in tail) / len(tail) for i in range(len(SEGMENTS))],
    }


def print_journeys(rows: list[dict[str, Any]]) -> None:
    from django.db import DatabaseError

    splits = []
    for row in rows:
        fills: list[TakerFill] = row.get("taker_fills", [])
        fills = fills[:: max(1, len(fills) // MAX_FILLS)]
        try:
            journeys = load_journeys([fill.order_id for fill in fills])
        except DatabaseError as exc:  # an observation: the audit after it must still run
            print(f"\n(the journeys were not read: {exc})")
            return
        result = split(fills, journeys)
        if result["fills"]:
            splits.append((row["offered"], result))
    if not splits:
        return
    print(
        "\nWhere the takers' fills spent their time, ms (the pipeline's journey rows; 'api' to the "
        "millisecond, see benchmarks/e2e/journeys.py): p50 / p99 of each segment, and its mean over "
        f"the slowest {TAIL_SHARE:.0%} of fills\n"
    )
    print(
        "| offered/s | fills | "
        + " | ".join(SEGMENTS)
        + " | slowest 1 %: from ms | "
        + " | ".join(SEGMENTS)
        + " |"
    )
    print("|---" * (2 * len(SEGMENTS) + 3) + "|")
    for offered, s in splits:
        spread = " | ".join(f"{p50:.2f} / {p99:.2f}" for p50, p99 in zip(s["p50"], s["p99"], strict=True))
        tail = " | ".join(f"{mean:.2f}" for mean in s["tail_mean"])
        print(f"| {offered:,} | {s['fills']:,} | {spread} | {s['tail_from_ms']:.2f} | {tail} |")
