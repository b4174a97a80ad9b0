"""The write buffer against the real database: coalescing, replayed inserts, and text of any content."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exchange.models import Asset
from persistence.models import StreamOffset
from persistence.offsets import CommittedPosition
from persistence.write_buffer import WriteBuffer

NASTY = ["it's", 'say "hi"', "back\\slash", "é€ 🚀", "'); DROP TABLE exchange_asset; --", ""]


def asset_row(pk: int, name: str) -> dict[str, object]:
    return {
        "id": pk,
        "code": f"T{pk}",
        "name": name,
        "display_precision": 8,
        "created_at": datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
    }


@pytest.mark.django_db(transaction=True)
def test_text_of_any_content_is_stored_as_given_and_the_position_with_it() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk, name in enumerate(NASTY, start=900):
        buffer.upsert(Asset, asset_row(pk, name))
    buffer.advance("1764000000000-7")
    buffer.flush(epoch=1)
    stored = dict(Asset.objects.filter(pk__gte=900).values_list("pk", "name"))
    assert stored == dict(enumerate(NASTY, start=900))
    assert Asset.objects.get(pk=900).created_at == datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    assert StreamOffset.objects.get(consumer="test-consumer").last_entry_id == "1764000000000-7"


@pytest.mark.django_db(transaction=True)
def test_repeated_upserts_of_a_row_write_its_last_state_and_a_replayed_insert_changes_nothing() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    buffer.upsert(Asset, asset_row(950, "first"))
    buffer.upsert(Asset, asset_row(950, "second"))
    assert buffer.pending_items == 1
    buffer.advance("1-1")
    buffer.flush(epoch=1)
    appender = WriteBuffer("test-consumer", "test-stream", CommittedPosition())  # a table of inserts
    appender.insert(Asset, asset_row(950, "a replay must not overwrite"))
    appender.advance("1-2")
    appender.flush(epoch=1)
    assert Asset.objects.get(pk=950).name == "second"
