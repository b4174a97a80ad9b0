"""Several orders placed in one round trip: each is claimed once, as a single place is."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.pipeline.order_entry import ClientOrderIdReused, OrderEntry, Placed, PlaceRequest


def _limit(user_id: int, client_order_id: str, price: str) -> PlaceRequest:
    return PlaceRequest(
        user_id=user_id,
        client_order_id=client_order_id,
        symbol="BTC/USDT",
        side="BUY",
        type="LIMIT",
        price=Decimal(price),
        quantity=Decimal("0.5"),
    )


def test_each_order_is_enqueued_once_in_order_and_a_retry_answers_the_first(redis_conn, alice) -> None:
    entry = OrderEntry(redis_conn)
    single = entry.place(_limit(alice.pk, "a-0", "99"))
    answers = entry.place_many(
        [_limit(alice.pk, "a-1", "100"), _limit(alice.pk, "a-0", "99.0"), _limit(alice.pk, "a-2", "102")]
    )
    assert all(isinstance(answer, Placed) for answer in answers)
    placed = [answer for answer in answers if isinstance(answer, Placed)]
    assert [answer.duplicate for answer in placed] == [False, True, False]
    assert placed[1] == Placed(single.order_id, single.entry_id, duplicate=True)
    assert entry.known_order_id(alice.pk, "a-2") == placed[2].order_id
    entries = redis_conn.xrange(accounts_keys(0).stream)
    assert [entry_id.decode() for entry_id, _ in entries] == [
        single.entry_id,
        placed[0].entry_id,
        placed[2].entry_id,
    ]
    assert [decode(fields)["px"] for _, fields in entries] == ["99", "100", "102"]


def test_a_client_order_id_reused_with_other_parameters_is_refused_in_its_place(redis_conn, alice) -> None:
    entry = OrderEntry(redis_conn)
    first = entry.place(_limit(alice.pk, "a-0", "99"))
    answers = entry.place_many([_limit(alice.pk, "a-0", "101"), _limit(alice.pk, "a-1", "100")])

    assert isinstance(answers[0], ClientOrderIdReused) and answers[0].order_id == first.order_id
    assert isinstance(answers[1], Placed) and not answers[1].duplicate
    assert len(redis_conn.xrange(accounts_keys(0).stream)) == 2


def test_a_load_generators_command_places_as_place_does(redis_conn, alice) -> None:
    entry = OrderEntry(redis_conn)
    entry.load_scripts()
    command = entry.place_command(_limit(alice.pk, "g-1", "100"))
    status, entry_id = redis_conn.execute_command(*command)
    again = entry.place(_limit(alice.pk, "g-1", "100"))
    assert status == 1
    assert again == Placed(again.order_id, entry_id.decode(), duplicate=True)
    assert decode(redis_conn.xrange(accounts_keys(0).stream)[0][1])["cid"] == "g-1"
