"""A worker's batch in one round trip: its statements and the fenced offset update sent together."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from exchange.models import Asset
from persistence.models import StreamOffset
from persistence.offsets import CommittedPosition, Fenced
from persistence.write_buffer import WriteBuffer, enable_one_round_trip_commits, one_round_trip_commits
from tests.persistence.test_write_buffer import NASTY, asset_row


@pytest.fixture
def one_round_trip() -> Iterator[None]:
    if connection.vendor != "mysql":
        pytest.skip("stacked statements are MySQL's and MariaDB's")
    options = connection.settings_dict.setdefault("OPTIONS", {})
    before = options.get("client_flag")
    assert enable_one_round_trip_commits() and one_round_trip_commits()
    yield
    connection.close()
    if before is None:
        options.pop("client_flag", None)
    else:
        options["client_flag"] = before


def batch_of(pks: range, last_entry_id: str) -> WriteBuffer:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk in pks:
        buffer.upsert(Asset, asset_row(pk, NASTY[pk % len(NASTY)]))
    buffer.advance(last_entry_id)
    return buffer


@pytest.mark.django_db(transaction=True)
def test_the_rows_and_the_position_go_in_one_statement_and_commit_together(one_round_trip) -> None:
    batch_of(range(900, 901), "1-1").flush(epoch=1)  # the offset row exists from here on
    connection.set_autocommit(False)  # as the flusher's connection
    try:
        with CaptureQueriesContext(connection) as sent:
            batch_of(range(901, 906), "1-2").flush(epoch=1)
    finally:
        connection.set_autocommit(True)
    writes, commit = (query["sql"] for query in sent.captured_queries)  # two round trips
    assert writes.startswith("INSERT INTO `exchange_asset`") and "UPDATE `persistence_streamoffset`" in writes
    assert commit == "COMMIT"
    assert dict(Asset.objects.filter(pk__gte=900).values_list("pk", "name")) == {
        pk: NASTY[pk % len(NASTY)] for pk in range(900, 906)
    }
    assert StreamOffset.objects.get(consumer="test-consumer").last_entry_id == "1-2"


@pytest.mark.django_db(transaction=True)
def test_a_fenced_batch_writes_nothing(one_round_trip) -> None:
    batch_of(range(910, 911), "2-1").flush(epoch=2)
    with pytest.raises(Fenced):
        batch_of(range(911, 913), "2-2").flush(epoch=1)
    assert not Asset.objects.filter(pk__in=[911, 912]).exists()
    offset = StreamOffset.objects.get(consumer="test-consumer")
    assert (offset.last_entry_id, offset.lease_epoch) == ("2-1", 2)


@pytest.mark.django_db(transaction=True)
def test_a_statement_failing_midway_leaves_nothing_and_the_next_batch_commits(one_round_trip) -> None:
    connection.set_autocommit(False)
    try:
        failing = batch_of(range(920, 922), "3-1").detach()
        failing.statements.append(("INSERT INTO spot_no_such_table VALUES (1)", None))
        with pytest.raises(DatabaseError):
            failing.commit(epoch=1)
        assert not Asset.objects.filter(pk__in=[920, 921]).exists()
        batch_of(range(922, 923), "3-2").flush(epoch=1)
    finally:
        connection.set_autocommit(True)
    assert list(Asset.objects.filter(pk__gte=920).values_list("pk", flat=True)) == [922]
    assert StreamOffset.objects.get(consumer="test-consumer").last_entry_id == "3-2"
