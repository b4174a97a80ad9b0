"""response_type RESULT: the answer waits briefly for the engine's verdict."""

from __future__ import annotations

import pytest

from exchange.pipeline.user_events import append_commands
from exchange.pipeline.wire import Wire
from tests.api.support import limit_buy, stream_commands

pytestmark = pytest.mark.django_db


def test_it_answers_with_the_engines_fill(alice_any_path, btc_usdt, fake_engine):
    fake_engine(lambda command: {"status": "FILLED", "executed_quantity": "0.001", "executed_quote": "30"})

    response = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT"))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["executed_quantity"], body["executed_quote"]) == ("FILLED", "0.001", "30")


def test_it_reads_the_engines_update_when_the_id_is_text(alice_any_path, btc_usdt, fake_engine):
    fake_engine(lambda command: {"status": "NEW"}, ids_as_text=True)

    response = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT"))

    assert (response.status_code, response.json()["status"]) == (200, "NEW")


def test_the_engines_amounts_are_answered_without_trailing_zeros(alice_any_path, btc_usdt, fake_engine):
    fake_engine(
        lambda command: {"status": "FILLED", "executed_quantity": "0.01000", "executed_quote": "300.0000000"}
    )

    body = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT")).json()

    assert (body["executed_quantity"], body["executed_quote"]) == ("0.01", "300")


def test_insufficient_funds_shows_as_rejected_with_its_reason(alice_any_path, alice, btc_usdt, fake_engine):
    fake_engine(lambda command: {"status": "REJECTED", "reject_reason": "INSUFFICIENT_FUNDS"})

    response = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT", quantity="100"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reject_reason"]) == ("REJECTED", "INSUFFICIENT_FUNDS")


def test_it_answers_202_pending_new_when_the_engine_is_slow(
    alice_any_path, alice, btc_usdt, settings, fake_engine
):
    settings.API_RESULT_WAIT_MS = 50
    fake_engine(lambda command: None)  # never answers

    response = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT"))

    assert response.status_code == 202
    assert response.json()["status"] == "PENDING_NEW"
    assert len(stream_commands(alice.pk)) == 1


def test_updates_of_other_orders_are_not_taken_for_the_answer(
    alice_any_path, alice, btc_usdt, settings, redis_conn
):
    import json
    import threading

    settings.API_RESULT_WAIT_MS = 300
    channel = f"{settings.REDIS_KEY_PREFIX}:user:{alice.pk}"
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            other = json.dumps({"type": "order", "order_id": 1, "status": "FILLED"}).encode()
            Wire(redis_conn).round_trip(append_commands(channel, [other], 100))
            stop.wait(0.01)

    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        response = alice_any_path.post("/api/v1/orders", limit_buy(response_type="RESULT"))
    finally:
        stop.set()
        thread.join()

    assert (response.status_code, response.json()["status"]) == (202, "PENDING_NEW")
