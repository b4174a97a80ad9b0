"""A balance change is queued once per request id, however often the call is made."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.pipeline.order_entry import OrderEntry


def test_a_repeated_request_id_enqueues_nothing_and_answers_the_first_entry(redis_conn, alice) -> None:
    entry = OrderEntry(redis_conn)
    first = entry.change_funds(alice.pk, "USDT", "DEPOSIT", Decimal("10"), "tx-9", None, "request-1")
    again = entry.change_funds(alice.pk, "USDT", "DEPOSIT", Decimal("10"), "tx-9", None, "request-1")
    other = entry.change_funds(alice.pk, "USDT", "DEPOSIT", Decimal("10"), "tx-9", None)
    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert again.entry_id == first.entry_id
    entries = redis_conn.xrange(accounts_keys(0).stream)
    assert [entry_id.decode() for entry_id, _ in entries] == [first.entry_id, other.entry_id]
    assert decode(entries[0][1])["amount"] == "10"
