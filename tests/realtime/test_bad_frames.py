"""What a client gets for frames the server cannot act on: an error frame, and the connection stays."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from exchange.models import Market
from tests.realtime.support import connect, request, run

CASES = [
    ("not json", "BAD_FRAME"),
    ("[1, 2]", "BAD_FRAME"),
    ('{"op": "dance"}', "UNKNOWN_OP"),
    ('{"op": "subscribe"}', "BAD_FRAME"),
    ('{"op": "subscribe", "channels": "trades:BTC/USDT"}', "BAD_FRAME"),
    ('{"op": "subscribe", "channels": ["candles:BTC/USDT"]}', "BAD_CHANNEL"),
    ('{"op": "subscribe", "channels": ["trades:btc-usdt"]}', "BAD_CHANNEL"),
    ('{"op": "subscribe", "channels": ["trades:DOGE/EUR"]}', "UNKNOWN_MARKET"),
    ('{"op": "subscribe", "channels": ["private"], "since": "yesterday"}', "BAD_SINCE"),
    ('{"op": "subscribe", "channels": ["private"], "since": "1795604592925-0"}', "BAD_SINCE"),
    ('{"op": "subscribe", "channels": ["private"], "since": -1}', "BAD_SINCE"),
    ('{"op": "subscribe", "channels": ["private"], "since": true}', "BAD_SINCE"),
    ('{"op": "subscribe", "channels": ["trades:BTC/USDT"], "since": "1-0"}', "BAD_FRAME"),
    ('{"op": "unsubscribe", "channels": ["trades:BTC/USDT"]}', "NOT_SUBSCRIBED"),
    ('{"op": "auth", "key": "sk_x"}', "BAD_FRAME"),
    ('{"op": "ping", "id": {"nested": true}}', "BAD_FRAME"),
    ('{"op": "ping", "pad": "' + "x" * 5000 + '"}', "FRAME_TOO_LARGE"),
]


@pytest.mark.parametrize(("text", "code"), CASES)
def test_a_bad_frame_gets_an_error_frame_and_the_connection_stays(
    market: Market, text: str, code: str
) -> None:
    async def body() -> None:
        ws = await connect()
        await ws.send_to(text_data=text)
        error = await ws.receive_json_from(timeout=3)
        assert error["type"] == "error" and error["code"] == code, error
        assert error["message"]
        assert await request(ws, {"op": "ping", "id": "still-here"}) == {"type": "pong", "id": "still-here"}
        await ws.disconnect()

    run(body)


def test_a_binary_frame_gets_an_error_frame(market: Market) -> None:
    async def body() -> None:
        ws = await connect()
        await ws.send_to(bytes_data=b"\x00\x01")
        assert (await ws.receive_json_from(timeout=3))["code"] == "BAD_FRAME"
        assert (await request(ws, {"op": "ping"}))["type"] == "pong"
        await ws.disconnect()

    run(body)


def test_the_good_channels_of_a_mixed_subscribe_still_subscribe(market: Market) -> None:
    async def body() -> None:
        ws = await connect()
        await ws.send_json_to(
            {"op": "subscribe", "channels": ["trades:BTC/USDT", "trades:XRP/USDT"], "id": 4}
        )
        replies = [await ws.receive_json_from(timeout=3) for _ in range(2)]
        assert replies[0] == {"type": "subscribed", "channel": "trades:BTC/USDT", "id": 4}
        assert replies[1]["code"] == "UNKNOWN_MARKET" and replies[1]["channel"] == "trades:XRP/USDT"
        await ws.disconnect()

    run(body)


def test_a_connection_holds_a_bounded_number_of_subscriptions(market: Market, settings: object) -> None:
    settings.WS_MAX_SUBSCRIPTIONS = 2  # type: ignore[attr-defined]

    async def body() -> None:
        ws = await connect()
        await ws.send_json_to(
            {"op": "subscribe", "channels": ["trades:BTC/USDT", "depth:BTC/USDT", "ticker:BTC/USDT"]}
        )
        frames = [await ws.receive_json_from(timeout=3) for _ in range(4)]
        assert [f.get("code") for f in frames if f["type"] == "error"] == ["TOO_MANY_SUBSCRIPTIONS"]
        again = await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"]})
        assert again["type"] == "subscribed"  # subscribing again to a held channel is no new one
        await ws.disconnect()

    run(body)


@pytest.mark.parametrize("direct", ["1", "0"], ids=["direct-write", "asgi-send"])
def test_a_frame_past_the_servers_limit_is_closed_with_a_reason(
    start_daphne: Any, market: Market, direct: str
) -> None:
    daphne = start_daphne(WS_DIRECT_WRITE=direct)
    with daphne.client() as client:
        assert client.request({"op": "ping"}) == {"type": "pong"}
        client.connection.send('{"op": "ping", "pad": "' + "x" * (1 << 20) + '"}')
        error = client.receive(timeout=10)
        assert error["type"] == "error" and error["code"] == "FRAME_TOO_LARGE", error
        with pytest.raises(ConnectionClosed) as closed:
            client.receive(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1009, "FRAME_TOO_LARGE")
