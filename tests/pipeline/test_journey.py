"""Each order's journey: every stage's time, in order, written with the order; a histogram per stage."""

from __future__ import annotations

from exchange.models import OrderJourney
from exchange.pipeline.journey import ORDER_STAGES, PIPELINE_STAGES, Journeys, Row, StageSeconds

STAGES = (
    "accepted_us",
    "accounts_in_us",
    "accounts_out_us",
    "matching_in_us",
    "matching_out_us",
    "committed_us",
)


def funded(pipeline, alice, bob) -> None:
    pipeline.deposit(alice, "USDT", "10000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()


def test_an_order_ends_with_every_stage_time_in_order(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    sell = pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    buy = pipeline.place(alice, "BTC/USDT", "BUY", price="101.00", quantity="0.2")
    pipeline.run()

    for order_id in (sell, buy):
        journey = OrderJourney.objects.get(order_id=order_id)
        times = [getattr(journey, name) for name in STAGES]
        assert all(isinstance(value, int) and value > 0 for value in times), times
        assert times == sorted(times), dict(zip(STAGES, times, strict=True))
        # Accepted is the order's accounts entry, the millisecond its id carries.
        assert journey.accepted_us == journey.order.created_at.timestamp() * 1_000_000


def test_each_stage_is_observed_once_per_order(pipeline, alice, bob):
    funded(pipeline, alice, bob)
    before = {stage: ORDER_STAGES.count(stage) for stage in PIPELINE_STAGES}
    pipeline.place(bob, "BTC/USDT", "SELL", price="100.00", quantity="0.5")
    pipeline.place(alice, "BTC/USDT", "BUY", price="99.00", quantity="0.2")
    pipeline.place(alice, "ETH/USDT", "BUY", price="9.00", quantity="0.2")
    pipeline.run()

    assert {stage: ORDER_STAGES.count(stage) - before[stage] for stage in PIPELINE_STAGES} == dict.fromkeys(
        PIPELINE_STAGES, 3
    )


def test_the_histogram_is_exported_with_cumulative_buckets():
    stages = StageSeconds(buckets=(0.001, 0.01))
    stages.ensure(("matching", "commit"))
    stages.observe("matching", 0.0005)
    stages.observe("matching", 0.005)
    stages.observe("matching", 3.0)
    [family] = stages.collect()
    samples = {(s.name, s.labels.get("stage"), s.labels.get("le")): s.value for s in family.samples}
    assert samples[("spot_order_stage_seconds_bucket", "matching", "0.001")] == 1
    assert samples[("spot_order_stage_seconds_bucket", "matching", "0.01")] == 2
    assert samples[("spot_order_stage_seconds_bucket", "matching", "+Inf")] == 3
    assert samples[("spot_order_stage_seconds_count", "matching", None)] == 3
    assert samples[("spot_order_stage_seconds_sum", "matching", None)] == 3.0055
    assert samples[("spot_order_stage_seconds_count", "commit", None)] == 0  # exported before any order


def test_a_journey_from_an_older_accounts_worker_keeps_what_is_known():
    journeys = Journeys(StageSeconds(), clock=lambda: 5_000)
    journeys.placed.append((7, 1, 0, 0, 4_000))  # no accounts times on the command
    journeys.sent()
    after_commit = journeys.take_sent()
    assert after_commit is not None and journeys.take_sent() is None
    after_commit(9_000)
    rows: list[Row] = []
    assert journeys.write(rows.append) == 1
    assert rows == [(7, 1_000, None, None, 4_000, 5_000, 9_000)]
