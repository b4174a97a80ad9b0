"""An order's journey on its admin page: each stage's time and what it took since the one before.

The times come from the order's journey row (exchange/pipeline/journey.py)
and, for the WebSocket push, from what daphne keeps in Redis
(exchange/realtime/push_times.py). What is not known is said, with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from exchange.models import Order, OrderJourney
from exchange.pipeline.ids import accepted_ms_of
from exchange.realtime.push_times import KEEP, TTL_S, pushed_us
from spot.redis_connection import redis_client

NO_JOURNEY = (
    "No journey recorded in the pipeline: the accounts stage refused the order before it reached matching, "
    "or its matching worker has not written it yet (it is written with the batch after the order's), "
    "or the worker stopped before it could (the journeys of its last batch are lost)."
)
NOT_PUSHED = (
    "Not known: the trader had no private WebSocket subscription when the order was accepted, or the push "
    f"time is no longer kept (the newest {KEEP:,} per trader, for {TTL_S // 3600} hours)."
)


@dataclass(frozen=True)
class Stage:
    name: str
    us: int | None
    after: str  # the stage its delta is measured from ("" for the first)
    note: str = ""


def journey_stages(order: Order, client: redis.Redis | None = None) -> list[Stage]:
    """The stages, in the order the pipeline passes them; the push (off the commit's path) last."""
    journey = OrderJourney.objects.filter(order_id=order.pk).first()
    if journey is None:
        stages = [Stage("Accepted by the API", accepted_ms_of(order.pk) * 1000, "")]
    else:
        stages = [
            Stage("Accepted by the API", journey.accepted_us, "", "the accounts stream entry's millisecond"),
            Stage("Accounts in", journey.accounts_in_us, "Accepted by the API"),
            Stage("Accounts out", journey.accounts_out_us, "Accounts in"),
            Stage("Matching in", journey.matching_in_us, "Accounts out"),
            Stage("Matching out", journey.matching_out_us, "Matching in"),
            Stage("Committed", journey.committed_us, "Matching out"),
        ]
    try:
        pushed = pushed_us(client or redis_client(), settings.REDIS_KEY_PREFIX, order.user_id, order.pk)
        note = "" if pushed is not None else NOT_PUSHED
    except redis.RedisError as exc:
        pushed, note = None, f"Not known: Redis did not answer ({exc})."
    stages.append(Stage("Pushed on the WebSocket", pushed, "Matching out" if journey else "", note))
    return stages


def journey_html(order: Order, client: redis.Redis | None = None) -> SafeString:
    stages = journey_stages(order, client)
    times = {stage.name: stage.us for stage in stages}
    accepted = stages[0].us
    rows = []
    previous = ""
    for stage in stages:
        # Said only when the delta is not from the row above (the push: from matching out).
        what = "" if stage.after == previous else f"after {stage.after.lower()}"
        previous = stage.name
        rows.append(
            (
                stage.name,
                _time(stage.us),
                _delta(stage.us, times.get(stage.after), what) if stage.after else "",
                _delta(stage.us, accepted, "") if stage is not stages[0] else "",
                stage.note,
            )
        )
    table = format_html(
        "<table><thead><tr><th>Stage</th><th>Time (UTC)</th><th>Since the stage before</th>"
        "<th>Since accepted</th><th></th></tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )
    if len(stages) == 2:
        return format_html("<p>{}</p>{}", NO_JOURNEY, table)
    return table


def _time(us: int | None) -> str:
    if us is None:
        return "—"
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _delta(us: int | None, since: int | None, what: str) -> str:
    if us is None or since is None:
        return ""
    text = f"{(us - since) / 1000:+,.3f} ms"
    return f"{text} {what}".strip()
