"""Public market channels through the consumer: trades, depth with sequences, ticker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from exchange.models import Market, Order, Trade
from exchange.services.candles import backfill
from tests.realtime.support import EventSource, LocalBook, connect, receive, request, run

BIDS = [["99.00", "2"], ["98.50", "1"]]
ASKS = [["101.00", "3"]]


def test_it_streams_the_trades_of_a_subscribed_market(market: Market, events: EventSource) -> None:
    async def body() -> None:
        ws = await connect()
        ack = await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"], "id": 7})
        assert ack == {"type": "subscribed", "channel": "trades:BTC/USDT", "id": 7}
        events.trade("BTC/USDT", 1, price="100.5", quantity="0.2")
        frame = await receive(ws)
        assert frame["type"] == "trade" and frame["channel"] == "trades:BTC/USDT"
        assert [(t["trade_id"], t["price"], t["quantity"]) for t in frame["data"]] == [("1", "100.5", "0.2")]
        await ws.disconnect()

    run(body)


def test_the_shard_reader_reconnects_when_its_connection_is_killed_and_misses_nothing(
    market: Market, events: EventSource
) -> None:
    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"]})
        events.trade("BTC/USDT", 1)
        assert [t["trade_id"] for t in (await receive(ws))["data"]] == ["1"]
        readers = [
            c
            for c in events.redis.client_list()
            if c.get("name", "").startswith(f"{events.prefix}:ws-shard-")
        ]
        assert len(readers) == 1
        events.redis.client_kill_filter(_id=readers[0]["id"])
        # Written while the reader reconnects: it reads on from its last position.
        events.trade("BTC/USDT", 2)
        events.trade("BTC/USDT", 3)
        seen: list[str] = []
        while len(seen) < 2:
            seen += [t["trade_id"] for t in (await receive(ws, timeout=30))["data"]]
        assert seen == ["2", "3"]
        await ws.disconnect()

    run(body)


def test_a_worker_batch_of_trades_and_depth_in_one_entry_arrives_whole_and_in_order(
    market: Market, events: EventSource
) -> None:
    events.book("BTC/USDT", 5, BIDS, ASKS)
    trade = {"type": "trade", "symbol": "BTC/USDT", "price": "101.00", "quantity": "1", "taker_side": "BUY"}

    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"]})
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        snapshot = await receive(ws)
        assert snapshot["type"] == "depth_snapshot" and snapshot["data"]["seq"] == 5
        events.market_batch(
            [
                {**trade, "trade_id": "1", "ts": 1},
                {**trade, "trade_id": "2", "ts": 1},
                {
                    "type": "depth_update",
                    "symbol": "BTC/USDT",
                    "seq": 6,
                    "bids": [],
                    "asks": [["101.00", "1"]],
                },
            ]
        )
        frames = [await receive(ws), await receive(ws)]
        by_type = {frame["type"]: frame for frame in frames}
        assert [t["trade_id"] for t in by_type["trade"]["data"]] == ["1", "2"]
        assert [u["seq"] for u in by_type["depth_update"]["data"]] == [6]
        await ws.disconnect()

    run(body)


def test_trades_of_other_markets_and_after_unsubscribing_do_not_arrive(
    market: Market, events: EventSource
) -> None:
    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"]})
        events.trade("ETH/USDT", 1)
        events.trade("BTC/USDT", 2)
        frame = await receive(ws)
        assert [t["trade_id"] for t in frame["data"]] == ["2"]
        ack = await request(ws, {"op": "unsubscribe", "channels": ["trades:BTC/USDT"]})
        assert ack == {"type": "unsubscribed", "channel": "trades:BTC/USDT"}
        events.trade("BTC/USDT", 3)
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(body)


def test_depth_starts_with_the_workers_snapshot_then_follows_updates_in_sequence(
    market: Market, events: EventSource
) -> None:
    events.book("BTC/USDT", 5, BIDS, ASKS)

    async def body() -> None:
        ws = await connect()
        assert (await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]}))[
            "type"
        ] == "subscribed"
        snapshot = await receive(ws)
        assert snapshot["type"] == "depth_snapshot" and snapshot["reason"] == "subscribe"
        assert snapshot["data"]["seq"] == 5 and snapshot["data"]["bids"] == BIDS
        events.depth_update("BTC/USDT", 6, [["99.00", "0"]], [["100.50", "1"]])
        update = await receive(ws)
        assert update["type"] == "depth_update"
        assert [u["seq"] for u in update["data"]] == [6]
        book = LocalBook()
        book.apply(snapshot)
        book.apply(update)
        assert book.levels() == (
            [(Decimal("98.50"), Decimal("1"))],
            [(Decimal("100.50"), Decimal("1")), (Decimal("101.00"), Decimal("3"))],
        )
        await ws.disconnect()

    run(body)


def test_a_market_without_a_worker_yet_starts_from_an_empty_book(market: Market) -> None:
    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        snapshot = await receive(ws)
        assert snapshot["data"] == {
            "symbol": "BTC/USDT",
            "seq": 0,
            "bids": [],
            "asks": [],
            "checksum": 2343686810,  # CRC32 of "|"
        }
        await ws.disconnect()

    run(body)


def test_a_gap_in_the_depth_sequence_makes_the_server_send_a_fresh_snapshot(
    market: Market, events: EventSource
) -> None:
    events.book("BTC/USDT", 5, BIDS, ASKS)

    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        await receive(ws)
        events.depth_update("BTC/USDT", 6, [], [["102.00", "1"]])
        assert [u["seq"] for u in (await receive(ws))["data"]] == [6]
        # Updates 7 and 8 never reach the stream (lost, trimmed): the reader sees 9 follow 6.
        events.book("BTC/USDT", 9, [["97.00", "4"]], [])
        events.depth_update("BTC/USDT", 9, [], [["101.00", "0"]])
        resync = await receive(ws)
        assert resync["type"] == "depth_snapshot" and resync["reason"] == "gap"
        assert resync["data"]["seq"] == 9 and resync["data"]["bids"] == [["97.00", "4"]]
        events.depth_update("BTC/USDT", 10, [["97.00", "0"]], [])
        assert [u["seq"] for u in (await receive(ws))["data"]] == [10]
        await ws.disconnect()

    run(body)


def test_a_restarted_workers_snapshot_replaces_the_book(market: Market, events: EventSource) -> None:
    events.book("BTC/USDT", 5, BIDS, ASKS)

    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        await receive(ws)
        events.depth_snapshot("BTC/USDT", 6, [["95.00", "1"]], [])
        frame = await receive(ws)
        assert frame["type"] == "depth_snapshot" and frame["reason"] == "restart"
        assert frame["data"]["seq"] == 6 and frame["data"]["bids"] == [["95.00", "1"]]
        await ws.disconnect()

    run(body)


def test_subscribing_again_to_depth_is_a_resync(market: Market, events: EventSource) -> None:
    events.book("BTC/USDT", 5, BIDS, ASKS)

    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        await receive(ws)
        events.book("BTC/USDT", 8, [], ASKS)
        await request(ws, {"op": "subscribe", "channels": ["depth:BTC/USDT"]})
        snapshot = await receive(ws)
        assert snapshot["type"] == "depth_snapshot" and snapshot["data"]["seq"] == 8
        await ws.disconnect()

    run(body)


def test_the_ticker_starts_from_the_last_24_hours_and_follows_trades(
    market: Market, events: EventSource, alice: User, bob: User
) -> None:
    now = datetime.now(UTC)
    _trade(market, 1, "90", "1", now - timedelta(hours=30), alice, bob)  # outside the window
    _trade(market, 2, "100", "2", now - timedelta(hours=3), alice, bob)
    _trade(market, 3, "110", "1", now - timedelta(hours=1), alice, bob)
    backfill(market)  # the minute candles the matching stage would have written

    async def body() -> None:
        ws = await connect()
        await request(ws, {"op": "subscribe", "channels": ["ticker:BTC/USDT"]})
        first = (await receive(ws))["data"]
        assert (first["open"], first["high"], first["low"], first["last"]) == ("100", "110", "100", "110")
        assert (first["volume"], first["quote_volume"], first["trades"]) == ("3", "310", 2)
        events.trade("BTC/USDT", 2, price="500")  # already counted: the database had it
        events.trade("BTC/USDT", 4, price="95", quantity="1")
        moved = (await receive(ws))["data"]
        assert (moved["high"], moved["low"], moved["last"], moved["change"]) == ("110", "95", "95", "-5")
        assert (moved["volume"], moved["trades"]) == ("4", 3)
        await ws.disconnect()

    run(body)


def _trade(
    market: Market, trade_id: int, price: str, quantity: str, at: datetime, maker: Any, taker: Any
) -> None:
    orders = [
        Order.objects.create(
            id=trade_id * 10 + n,
            user=user,
            market=market,
            client_order_id=f"t{trade_id}-{n}",
            side=side,
            type="LIMIT",
            price=Decimal(price),
            quantity=Decimal(quantity),
            status="FILLED",
            created_at=at,
            updated_at=at,
        )
        for n, (user, side) in enumerate(((maker, "SELL"), (taker, "BUY")))
    ]
    Trade.objects.create(
        id=trade_id,
        market=market,
        price=Decimal(price),
        quantity=Decimal(quantity),
        quote_quantity=Decimal(price) * Decimal(quantity),
        taker_side="BUY",
        maker_order=orders[0],
        taker_order=orders[1],
        maker_user=maker,
        taker_user=taker,
        maker_fee_asset=market.quote,
        taker_fee_asset=market.quote,
        executed_at=at,
    )
