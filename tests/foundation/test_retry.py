"""The retry wait every worker and WebSocket reader uses after a Redis or database fault."""

from __future__ import annotations

from spot.retry import next_backoff


def waits(failures: int) -> list[float]:
    out: list[float] = []
    wait = 0.0
    for _ in range(failures):
        wait = next_backoff(wait)
        out.append(wait)
    return out


def test_the_first_retry_is_quick_and_the_waits_double():
    assert waits(4) == [0.1, 0.2, 0.4, 0.8]


def test_no_wait_is_longer_than_a_second_however_long_the_outage():
    assert waits(50)[4:] == [1.0] * 46


def test_a_process_is_back_within_a_second_of_the_end_of_a_four_second_failover():
    tried_at, wait = 0.0, 0.0
    while tried_at < 4.0:
        wait = next_backoff(wait)
        tried_at += wait
    assert tried_at - 4.0 <= 1.0
