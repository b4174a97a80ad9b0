"""Against a real daphne, with the real workers: what a trader's WebSocket client sees."""

from __future__ import annotations

import http.client
import json
import random
import time
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from websockets.exceptions import ConnectionClosed

from exchange.api.signing import private_key_from_text, signed_headers
from exchange.models import Market
from exchange.pipeline.user_events import events_stream, seq_counter
from exchange.pipeline.workers import MatchingWorker
from exchange.services.api_keys import IssuedKey
from matching import from_lots, from_ticks
from tests.pipeline.conftest import Pipeline
from tests.realtime.server import Client, Daphne
from tests.realtime.support import EventSource, LocalBook, credentials

SYMBOL = "BTC/USDT"


def login_headers(key: IssuedKey) -> dict[str, str]:
    values = credentials(key)
    return {
        "X-Spot-Key": values["key"],
        "X-Spot-Timestamp": values["timestamp"],
        "X-Spot-Signature": values["signature"],
    }


def place_over_rest(daphne: Daphne, key: IssuedKey, order: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/orders, signed, to the same daphne that serves the WebSockets."""
    assert key.private_key is not None
    body = json.dumps(order).encode()
    private = private_key_from_text(key.private_key)
    headers = signed_headers(key.api_key.key_id, private, "POST", "/api/v1/orders", body)
    connection = http.client.HTTPConnection("127.0.0.1", daphne.port, timeout=10)
    try:
        connection.request("POST", "/api/v1/orders", body, {**headers, "Content-Type": "application/json"})
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    assert response.status in (200, 202), f"POST /api/v1/orders: {response.status} {text}"
    answer: dict[str, Any] = json.loads(text)
    return answer


def private_events(
    client: Client, order_id: int | str, statuses: set[str], timeout: float = 10
) -> list[dict[str, Any]]:
    """Private frames until the order reaches one of `statuses`; all of them."""
    frame, before = client.receive_until(
        lambda f: (
            f["type"] == "order"
            and str(f["data"]["order_id"]) == str(order_id)
            and f["data"]["status"] in statuses
        ),
        timeout,
    )
    return [*before, frame]


def order(side: str) -> dict[str, Any]:
    return {"market": SYMBOL, "side": side, "type": "LIMIT", "price": "30000.00", "quantity": "0.5"}


def has_status(frames: list[dict[str, Any]], order_id: int | str, status: str) -> bool:
    return any(
        f["type"] == "order" and str(f["data"]["order_id"]) == str(order_id) and f["data"]["status"] == status
        for f in frames
    )


def collect(client: Client, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """Frames until `done(frames)` holds."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        frames.append(client.receive(max(0.01, deadline - time.monotonic())))
    return frames


def engine_book(pipeline: Pipeline, market: Market) -> tuple[list[Any], list[Any]]:
    worker = next(
        w for w in pipeline.workers if isinstance(w, MatchingWorker) and w._stage and SYMBOL in w._stage.books
    )
    assert worker._stage is not None
    bids, asks = worker._stage.books[SYMBOL].depth(10_000)

    def levels(side: list[tuple[int, int]]) -> list[tuple[Decimal, Decimal]]:
        return [(from_ticks(p, market.tick_size), from_lots(q, market.lot_size)) for p, q in side]

    return levels(bids), levels(asks)


@pytest.mark.cluster(only={"direct": "1"})
@pytest.mark.parametrize("direct", ["1", "0"], ids=["direct-write", "asgi-send"])
def test_an_order_is_accepted_and_filled_on_the_private_channel_and_traded_on_the_public_one(
    start_daphne: Any,
    pipeline: Pipeline,
    alice: User,
    bob: User,
    alice_key: IssuedKey,
    bob_key: IssuedKey,
    direct: str,
) -> None:
    daphne = start_daphne(WS_DIRECT_WRITE=direct)
    pipeline.deposit(alice, "BTC", "2")
    pipeline.deposit(bob, "USDT", "100000")
    pipeline.run()
    with daphne.client(login_headers(alice_key)) as alice_ws, daphne.client() as bob_ws:
        assert alice_ws.receive() == {"type": "authenticated", "user_id": alice.pk}
        alice_ws.send({"op": "subscribe", "channels": ["private", f"trades:{SYMBOL}"]})
        assert {alice_ws.receive()["channel"] for _ in range(2)} == {"private", f"trades:{SYMBOL}"}
        assert bob_ws.request({"op": "auth", **credentials(bob_key)})["type"] == "authenticated"
        assert bob_ws.request({"op": "subscribe", "channels": ["private"]})["type"] == "subscribed"

        sell = place_over_rest(daphne, alice_key, order("SELL"))
        pipeline.run()
        accepted = private_events(alice_ws, sell["order_id"], {"NEW"})[-1]
        assert Decimal(accepted["data"]["executed_quantity"]) == 0

        buy = place_over_rest(daphne, bob_key, order("BUY"))
        pipeline.run()
        alice_frames = collect(
            alice_ws,
            lambda frames: (
                has_status(frames, sell["order_id"], "FILLED")
                and any(f["type"] == "fill" for f in frames)
                and any(f["type"] == "trade" for f in frames)
            ),
        )
        (fill,) = [f["data"] for f in alice_frames if f["type"] == "fill"]
        assert (str(fill["order_id"]), fill["role"], fill["fee_asset"]) == (sell["order_id"], "maker", "USDT")
        assert Decimal(fill["quantity"]) == Decimal("0.5") and Decimal(fill["fee"]) == Decimal("15")
        assert fill["client_order_id"] == sell["client_order_id"] and fill["ts"] > 0
        (trade,) = [t for f in alice_frames if f["type"] == "trade" for t in f["data"]]
        assert Decimal(trade["price"]) == Decimal("30000") and trade["taker_side"] == "BUY"

        bob_frames = collect(bob_ws, lambda frames: has_status(frames, buy["order_id"], "FILLED"))
        assert any(f["type"] == "fill" and f["data"]["role"] == "taker" for f in bob_frames)
        assert any(f["type"] == "balance" for f in bob_frames)
        # Bob's connection never carries Alice's order, and his sequence only grows.
        assert all(str(f["data"].get("order_id")) != sell["order_id"] for f in bob_frames)
        seqs = [f["seq"] for f in bob_frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_depth_snapshot_and_updates_reproduce_the_engines_book(
    daphne: Daphne, pipeline: Pipeline, btc_usdt: Market, alice: User, bob: User
) -> None:
    pipeline.deposit(alice, "BTC", "1000")
    pipeline.deposit(bob, "USDT", "100000000")
    pipeline.place(alice, SYMBOL, "SELL", price="30100.00", quantity="1")
    pipeline.run()
    rng = random.Random(6)
    with daphne.client() as ws:
        ws.send({"op": "subscribe", "channels": [f"depth:{SYMBOL}"]})
        assert ws.receive()["type"] == "subscribed"
        book = LocalBook()
        book.apply(ws.receive())
        assert book.snapshots == ["subscribe"]
        for _ in range(8):
            for _ in range(12):
                user, side = (alice, "SELL") if rng.random() < 0.5 else (bob, "BUY")
                price = Decimal(30000) + Decimal(rng.randint(-40, 40)) * Decimal("2.5")
                quantity = Decimal(rng.randint(1, 300)) / Decimal(1000)
                pipeline.place(user, SYMBOL, side, price=str(price), quantity=str(quantity))
            pipeline.run()
        target = _engine_sequence(pipeline)
        while book.seq != target:
            book.apply(ws.receive())
        assert book.gaps == 0
        assert book.levels() == engine_book(pipeline, btc_usdt)
        assert book.levels()[0] and book.levels()[1]


def rest_depth(daphne: Daphne, limit: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", daphne.port, timeout=10)
    try:
        connection.request("GET", f"/api/v1/markets/{SYMBOL}/depth?limit={limit}")
        response = connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200, answer
    return answer


def test_levels_moving_up_into_the_top_100_reach_the_client_and_its_checksum_holds(
    daphne: Daphne, pipeline: Pipeline, btc_usdt: Market, alice: User, bob: User
) -> None:
    pipeline.deposit(alice, "BTC", "10")
    pipeline.deposit(bob, "USDT", "10000000")
    for n in range(130):
        pipeline.place(alice, SYMBOL, "SELL", price=str(30000 + n), quantity="0.01")
    pipeline.run()
    with daphne.client() as ws:
        ws.send({"op": "subscribe", "channels": [f"depth:{SYMBOL}"]})
        assert ws.receive()["type"] == "subscribed"
        book = LocalBook()
        book.apply(ws.receive())
        assert len(book.asks) == 100 and book.checksums_verified == 1
        # Takes the best 30 asks: 30130 ... 30129 move up into the top 100.
        pipeline.place(bob, SYMBOL, "BUY", price="30029", quantity="0.30", time_in_force="IOC")
        pipeline.run()
        while book.seq != _engine_sequence(pipeline):
            book.apply(ws.receive())
        assert book.gaps == 0 and book.checksums_verified >= 2
        rest = rest_depth(daphne, 100)
        assert rest["seq"] == book.seq
        rest_asks = [(Decimal(p), Decimal(q)) for p, q in rest["asks"]]
        assert book.levels()[1] == rest_asks
        assert len(rest_asks) == 100
        assert (rest_asks[0][0], rest_asks[-1][0]) == (Decimal(30030), Decimal(30129))


def test_a_forced_gap_is_detected_and_the_book_recovers(
    daphne: Daphne, pipeline: Pipeline, btc_usdt: Market, alice: User, events: EventSource
) -> None:
    pipeline.deposit(alice, "BTC", "10")
    pipeline.run()
    with daphne.client() as ws:
        ws.send({"op": "subscribe", "channels": [f"depth:{SYMBOL}"]})
        ws.receive()
        book = LocalBook()
        book.apply(ws.receive())
        pipeline.place(alice, SYMBOL, "SELL", price="31000.00", quantity="1")
        pipeline.run()
        book.apply(ws.receive())
        # An update the client never saw the one before: as if the stream had lost one.
        events.depth_update(SYMBOL, _engine_sequence(pipeline) + 2, [], [["31000.00", "5"]])
        resync = ws.receive()
        assert resync["type"] == "depth_snapshot" and resync["reason"] == "gap"
        book.apply(resync)
        pipeline.place(alice, SYMBOL, "SELL", price="31500.00", quantity="2")
        pipeline.run()
        while book.seq != _engine_sequence(pipeline):
            book.apply(ws.receive())
        assert book.gaps == 0
        assert book.levels() == engine_book(pipeline, btc_usdt)


def test_a_client_resumes_after_a_reconnect_from_its_last_seq(
    daphne: Daphne, pipeline: Pipeline, alice: User, alice_key: IssuedKey, redis_conn: redis.Redis
) -> None:
    pipeline.deposit(alice, "USDT", "100000")
    pipeline.run()
    with daphne.client(login_headers(alice_key)) as ws:
        ws.receive()
        ws.request({"op": "subscribe", "channels": ["private"]})
        first = pipeline.place(alice, SYMBOL, "BUY", price="100.00", quantity="0.1")
        pipeline.run()
        seen = private_events(ws, first, {"NEW"})
        last_seq = seen[-1]["seq"]
    # Offline: two more orders and a cancel happen.
    offline = [pipeline.place(alice, SYMBOL, "BUY", price=f"10{n}.00", quantity="0.1") for n in range(1, 3)]
    pipeline.entry.cancel(alice.pk, first)
    pipeline.run()
    stream = events_stream(f"{daphne.env['REDIS_KEY_PREFIX']}:user:{alice.pk}")
    head = int(redis_conn.get(seq_counter(stream)) or 0)
    missed = list(range(last_seq + 1, head + 1))  # the user's events are numbered one by one
    assert len(missed) >= 4
    with daphne.client(login_headers(alice_key)) as ws:
        ws.receive()
        ack = ws.request({"op": "subscribe", "channels": ["private"], "since": last_seq})
        assert ack == {"type": "subscribed", "channel": "private", "seq": last_seq}
        replayed = [ws.receive() for _ in missed]
        assert [f["seq"] for f in replayed] == missed
        # Numbered one by one across kinds, though the accounts worker wrote the balances
        # and the matching worker the orders.
        assert {f["type"] for f in replayed} == {"order", "balance"}
        orders = {f["data"]["order_id"]: f["data"]["status"] for f in replayed if f["type"] == "order"}
        assert orders == {str(offline[0]): "NEW", str(offline[1]): "NEW", str(first): "CANCELED"}
        pipeline.entry.cancel(alice.pk, offline[0])
        pipeline.run()
        live = private_events(ws, offline[0], {"CANCELED"})
        assert [f["seq"] for f in live] == list(range(head + 1, head + 1 + len(live)))
    # From any seq, even one in the middle of a worker batch's entry, the next event follows.
    with daphne.client(login_headers(alice_key)) as ws:
        ws.receive()
        ws.request({"op": "subscribe", "channels": ["private"], "since": missed[0]})
        rest = [ws.receive() for _ in missed[1:]]
        assert [f["seq"] for f in rest] == missed[1:]
        assert [f["data"] for f in rest] == [f["data"] for f in replayed[1:]]


def test_a_slow_client_is_disconnected_while_others_keep_up(
    start_daphne: Any, btc_usdt: Market, events: EventSource
) -> None:
    daphne = start_daphne(WS_SEND_BUFFER_BYTES="65536")
    pad = "x" * 16_000
    # A client that stops reading: no room for more than one message until the test reads.
    with daphne.client(max_queue=1) as slow, daphne.client() as fast:
        for client in (slow, fast):
            assert (
                client.request({"op": "subscribe", "channels": [f"trades:{SYMBOL}"]})["type"] == "subscribed"
            )
        received = 0
        sent = 0
        deadline = time.monotonic() + 30
        while "slow WebSocket client" not in daphne.log():
            assert time.monotonic() < deadline, "the slow client was never disconnected"
            for _ in range(20):
                sent += 1
                events.trade(SYMBOL, sent, pad=pad)
            while received < sent:
                received += len(fast.receive(timeout=10)["data"])
        for _ in range(20):
            sent += 1
            events.trade(SYMBOL, sent, pad=pad)
        while received < sent:
            received += len(fast.receive(timeout=10)["data"])
        assert received == sent
        # The slow client, reading again, finds the reason behind its backlog.
        frames = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(slow.receive(timeout=10))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == "SLOW_CONSUMER"
        assert sum(len(f["data"]) for f in frames[:-1]) < sent


def _engine_sequence(pipeline: Pipeline) -> int:
    worker = next(
        w for w in pipeline.workers if isinstance(w, MatchingWorker) and w._stage and SYMBOL in w._stage.books
    )
    return worker._depth_sequence[SYMBOL]
