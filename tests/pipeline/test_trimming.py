"""How far an accounts worker trims its input: never past what matching has still to commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from exchange.pipeline.trimming import below_committed, below_downstream
from persistence.models import StreamOffset
from persistence.offsets import CommittedPosition, commit_position, load_position

pytestmark = pytest.mark.django_db


def matching_committed(shard: int, **producers: str) -> None:
    StreamOffset.objects.create(
        consumer=f"matching-{shard}",
        stream=f"m{shard}",
        lease_epoch=1,
        producer_sequences={"producers": producers, "counters": {}},
    )


def accounts_at(committed: str, **forwarded: str) -> CommittedPosition:
    return CommittedPosition(committed, forwarded=forwarded)


def test_it_trims_below_what_a_matching_worker_behind_it_has_committed() -> None:
    matching_committed(1, a0="100-0")  # was sent up to 200-0
    matching_committed(2, a0="300-0")  # has all it was sent
    assert below_downstream("a0")(accounts_at("400-0", m1="200-0", m2="300-0")) == "100-0"


def test_once_matching_has_committed_all_it_was_sent_it_trims_below_its_own_commit() -> None:
    matching_committed(1, a0="200-0", a1="900-0")
    assert below_downstream("a0")(accounts_at("400-0", m1="200-0")) == "400-0"


def test_a_matching_worker_that_never_committed_holds_trimming_back() -> None:
    assert below_downstream("a0")(accounts_at("400-0", m1="200-0")) == "0-0"


def test_a_worker_that_forwards_nothing_trims_below_its_commit() -> None:
    assert below_downstream("a0")(accounts_at("400-0")) == "400-0"
    assert below_committed(accounts_at("400-0", m1="200-0")) == "400-0"


def test_what_was_forwarded_is_committed_with_the_offset_and_loaded_at_restart() -> None:
    with transaction.atomic():
        commit_position("accounts-0", "a0", accounts_at("400-0", m1="200-0"), epoch=1)
    assert load_position("accounts-0").forwarded == {"m1": "200-0"}
