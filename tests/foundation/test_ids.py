from __future__ import annotations

import time

import pytest

from exchange.ids import IdGenerator, timestamp_ms_of


def test_ids_increase_and_never_repeat():
    generator = IdGenerator(node=3)
    ids = [generator.next_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_of_two_nodes_never_collide():
    first, second = IdGenerator(node=1), IdGenerator(node=2)
    assert not {first.next_id() for _ in range(5000)} & {second.next_id() for _ in range(5000)}


def test_an_id_carries_its_time_and_fits_a_signed_bigint():
    generator = IdGenerator(node=1023)
    before = time.time_ns() // 1_000_000
    snowflake = generator.next_id()
    assert 0 < snowflake < 1 << 63
    assert abs(timestamp_ms_of(snowflake) - before) < 1000


def test_it_refuses_a_node_out_of_range():
    with pytest.raises(ValueError, match="node"):
        IdGenerator(node=1024)
