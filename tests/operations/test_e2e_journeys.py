"""The end-to-end benchmark's split of a fill's time by stage (benchmarks/e2e/journeys.py)."""

from __future__ import annotations

from benchmarks.e2e.journeys import SEGMENTS, TakerFill, segments_ms, split

MS = 1_000_000  # ns


def _fill(order_id: int, sent_ms: int, received_ms: int) -> TakerFill:
    return TakerFill(order_id, sent_ms * MS, received_ms * MS)


def test_a_fill_splits_into_its_six_segments_which_add_up_to_its_latency() -> None:
    fill = _fill(1, 1_000, 1_012)
    journey = (1_001_000, 1_003_000, 1_003_500, 1_006_000, 1_006_500)  # us: accepted .. matching out

    parts = segments_ms(fill, journey)

    assert parts == (1.0, 2.0, 0.5, 2.5, 0.5, 5.5)
    assert len(parts) == len(SEGMENTS) and sum(parts) == 12.0


def test_a_journey_without_the_accounts_stages_times_is_left_out() -> None:
    assert segments_ms(_fill(1, 0, 5), (0, None, None, 1_000, 2_000)) is None


def test_the_slowest_fills_are_split_apart_from_the_rest() -> None:
    fills = [_fill(i, 0, 5) for i in range(99)] + [_fill(99, 0, 50)]
    fast = (1_000, 2_000, 2_100, 3_000, 3_100)  # the fill 1.9 ms after matching's send
    slow = (40_000, 41_000, 41_100, 42_000, 42_100)  # 40 ms in the API, then as fast
    journeys = {i: fast for i in range(99)} | {99: slow, 100: fast}  # 100 filled no one here

    result = split(fills, journeys)

    assert result["fills"] == 100 and result["tail_fills"] == 1 and result["tail_from_ms"] == 50.0
    assert result["p50"] == [1.0, 1.0, 0.1, 0.9, 0.1, 1.9]
    assert result["tail_mean"] == [40.0, 1.0, 0.1, 0.9, 0.1, 7.9]


def test_no_journeys_no_split() -> None:
    assert split([_fill(1, 0, 5)], {}) == {"fills": 0}
