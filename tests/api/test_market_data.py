"""Public market data: markets, depth, trades, ticker and candles; no credentials needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from exchange.models import Trade
from exchange.services.candles import backfill

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def traders(db):
    users = get_user_model().objects
    return users.create_user("maker"), users.create_user("taker")


def _trade(market, traders, trade_id, price, quantity, at, taker_side="BUY"):
    maker, taker = traders
    price, quantity = Decimal(price), Decimal(quantity)
    return Trade.objects.create(
        id=trade_id,
        market=market,
        price=price,
        quantity=quantity,
        quote_quantity=price * quantity,
        taker_side=taker_side,
        maker_order_id=trade_id * 10,
        taker_order_id=trade_id * 10 + 1,
        maker_user=maker,
        taker_user=taker,
        maker_fee_asset=market.quote,
        taker_fee_asset=market.quote,
        executed_at=at,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_it_lists_markets_with_their_rules(client, btc_usdt, eth_usdt_halted):
    response = client.get("/api/v1/markets")

    assert response.status_code == 200
    assert response.json()[0] == {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "status": "trading",
        "tick_size": "0.01",
        "lot_size": "0.00001",
        "min_quantity": "0.00001",
        "min_notional": "5",
        "maker_fee_rate": "0.001",
        "taker_fee_rate": "0.001",
    }
    assert response.json()[1]["status"] == "halted"


def test_one_market_by_base_and_quote(client, btc_usdt):
    assert client.get("/api/v1/markets/BTC/USDT").json()["symbol"] == "BTC/USDT"
    missing = client.get("/api/v1/markets/XRP/USDT")
    assert (missing.status_code, missing.json()["code"]) == (404, "MARKET_NOT_FOUND")
    assert client.get("/api/v1/markets/btc/usdt").status_code == 400


def test_depth_is_the_top_of_the_engines_snapshot(client, btc_usdt, redis_conn, settings):
    book = {
        "seq": 42,
        "bids": [["30000.00", "0.5"], ["29999.99", "1"], ["29999.98", "2"]],
        "asks": [["30000.01", "0.2"]],
    }
    redis_conn.set(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:depth:BTC/USDT", json.dumps(book))

    response = client.get("/api/v1/markets/BTC/USDT/depth?limit=2")

    assert response.json() == {
        "market": "BTC/USDT",
        "seq": 42,
        "bids": [["30000", "0.5"], ["29999.99", "1"]],
        "asks": [["30000.01", "0.2"]],
    }


def test_depth_of_a_market_whose_book_is_on_an_overridden_shard(client, btc_usdt, redis_conn, settings):
    btc_usdt.shard_override = 7
    btc_usdt.save()
    redis_conn.set(
        f"{settings.REDIS_KEY_PREFIX}:{{m7}}:depth:BTC/USDT", json.dumps({"seq": 3, "bids": [], "asks": []})
    )

    assert client.get("/api/v1/markets/BTC/USDT/depth").json()["seq"] == 3


def test_depth_without_a_snapshot_is_an_empty_book(client, btc_usdt):
    assert client.get("/api/v1/markets/BTC/USDT/depth").json() == {
        "market": "BTC/USDT",
        "seq": 0,
        "bids": [],
        "asks": [],
    }


def test_recent_trades_newest_first(client, btc_usdt, traders):
    for trade_id in (1, 2, 3):
        _trade(btc_usdt, traders, trade_id, "30000", "0.01", T0 + timedelta(seconds=trade_id))

    trades = client.get("/api/v1/markets/BTC/USDT/trades?limit=2").json()

    assert [trade["id"] for trade in trades] == ["3", "2"]
    assert trades[0] == {
        "id": "3",
        "price": "30000",
        "quantity": "0.01",
        "quote_quantity": "300",
        "taker_side": "BUY",
        "executed_at": _ms(T0 + timedelta(seconds=3)),
    }


def test_the_ticker_covers_the_last_24_hours(client, btc_usdt, traders, redis_conn, settings):
    now = timezone.now()
    _trade(btc_usdt, traders, 1, "25000", "1", now - timedelta(hours=25))  # outside the window
    _trade(btc_usdt, traders, 2, "30000", "0.1", now - timedelta(hours=20))
    _trade(btc_usdt, traders, 3, "32000", "0.2", now - timedelta(hours=10))
    _trade(btc_usdt, traders, 4, "31000", "0.1", now - timedelta(hours=1))
    backfill(btc_usdt)  # the minute candles the matching stage would have written
    book = {"seq": 1, "bids": [["30999", "1"]], "asks": [["31001", "1"]]}
    redis_conn.set(f"{settings.REDIS_KEY_PREFIX}:{{m1}}:depth:BTC/USDT", json.dumps(book))

    ticker = client.get("/api/v1/markets/BTC/USDT/ticker").json()

    assert {key: ticker[key] for key in ("open", "high", "low", "last", "volume", "trades", "change")} == {
        "open": "30000",
        "high": "32000",
        "low": "30000",
        "last": "31000",
        "volume": "0.4",
        "trades": 3,
        "change": "1000",
    }
    assert ticker["quote_volume"] == "12500"
    assert (ticker["best_bid"], ticker["best_ask"]) == ("30999", "31001")
    # Whole minutes: from the start of the minute 24 hours ago.
    assert 0 <= ticker["window_end"] - ticker["window_start"] - 24 * 3600 * 1000 < 60_000
    assert ticker["window_start"] % 60_000 == 0


def test_the_ticker_of_a_quiet_market(client, btc_usdt):
    ticker = client.get("/api/v1/markets/BTC/USDT/ticker").json()

    assert (ticker["open"], ticker["last"], ticker["volume"], ticker["trades"]) == (None, None, "0", 0)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (
            "1m",
            [
                (T0, "100", "105", "99", "105", "3", 3),
                (T0 + timedelta(minutes=1), "101", "101", "101", "101", "1", 1),
                (T0 + timedelta(minutes=7), "110", "110", "110", "110", "1", 1),
            ],
        ),
        (
            "5m",
            [
                (T0, "100", "105", "99", "101", "4", 4),
                (T0 + timedelta(minutes=5), "110", "110", "110", "110", "1", 1),
            ],
        ),
        ("1h", [(T0, "100", "110", "99", "110", "5", 5)]),
        ("1d", [(T0.replace(hour=0), "100", "110", "99", "110", "5", 5)]),
    ],
)
def test_candles_bucket_trades_by_interval(client, btc_usdt, traders, interval, expected):
    trades = [
        (1, "100", T0 + timedelta(seconds=1)),
        (2, "99", T0 + timedelta(seconds=20)),
        (3, "105", T0 + timedelta(seconds=59)),
        (4, "101", T0 + timedelta(minutes=1, seconds=5)),
        (5, "110", T0 + timedelta(minutes=7)),
    ]
    for trade_id, price, at in trades:
        _trade(btc_usdt, traders, trade_id, price, "1", at)
    backfill(btc_usdt)
    end = _ms(T0 + timedelta(minutes=8))

    candles = client.get(f"/api/v1/markets/BTC/USDT/candles?interval={interval}&end={end}").json()

    got = [
        (c["open_time"], c["open"], c["high"], c["low"], c["close"], c["volume"], c["trades"])
        for c in candles
    ]
    assert got == [(_ms(at), o, h, low, c, v, n) for at, o, h, low, c, v, n in expected]


def test_candles_stop_at_the_limit(client, btc_usdt, traders):
    for minute in range(5):
        _trade(btc_usdt, traders, minute + 1, "100", "1", T0 + timedelta(minutes=minute))
    backfill(btc_usdt)
    end = _ms(T0 + timedelta(minutes=4))

    candles = client.get(f"/api/v1/markets/BTC/USDT/candles?interval=1m&limit=2&end={end}").json()

    assert [c["open_time"] for c in candles] == [
        _ms(T0 + timedelta(minutes=3)),
        _ms(T0 + timedelta(minutes=4)),
    ]


@pytest.mark.parametrize("query", ["interval=2m", "limit=0", "limit=1001", "end=-1"])
def test_candles_refuse_bad_parameters(client, btc_usdt, query):
    assert client.get(f"/api/v1/markets/BTC/USDT/candles?{query}").status_code == 400


def _a_trade_lands_meanwhile(market, price: str) -> None:
    """What the matching stage does to the last minute while a read is between its two statements."""
    from exchange.models import Candle

    last = Candle.objects.filter(market=market).order_by("-open_time").first()
    assert last is not None
    last.last_trade_id += 1
    last.close = Decimal(price)
    last.save(update_fields=["last_trade_id", "close"])


def test_the_ticker_answers_when_a_trade_lands_between_its_reads(client, btc_usdt, traders, monkeypatch):
    # The database reads at READ COMMITTED: the candle of the last minute may take a trade after
    # the ticker's aggregate and before its look-up of the open and the close (a 500 before).
    from exchange.api import market_data

    now = timezone.now()
    _trade(btc_usdt, traders, 1, "30000", "0.1", now - timedelta(hours=2))
    _trade(btc_usdt, traders, 2, "31000", "0.1", now - timedelta(minutes=1))
    backfill(btc_usdt)
    depth = market_data.depth

    def depth_while_trading(*args, **kwargs):
        _a_trade_lands_meanwhile(btc_usdt, "31500")
        return depth(*args, **kwargs)

    monkeypatch.setattr(market_data, "depth", depth_while_trading)

    response = client.get("/api/v1/markets/BTC/USDT/ticker")

    assert response.status_code == 200
    assert (response.json()["open"], response.json()["last"]) == ("30000", "31500")


def test_candles_answer_when_a_trade_lands_between_their_reads(client, btc_usdt, traders, monkeypatch):
    from exchange.api import market_data, order_lookup

    _trade(btc_usdt, traders, 1, "100", "1", T0 + timedelta(seconds=1))
    _trade(btc_usdt, traders, 2, "105", "1", T0 + timedelta(minutes=1, seconds=1))
    backfill(btc_usdt)
    landed: list[bool] = []

    def millis_while_trading(moment):
        if not landed:  # the aggregate has been read: its rows are being folded
            _a_trade_lands_meanwhile(btc_usdt, "107")
            landed.append(True)
        return order_lookup.millis(moment)

    monkeypatch.setattr(market_data, "millis", millis_while_trading)
    end = _ms(T0 + timedelta(minutes=2))

    response = client.get(f"/api/v1/markets/BTC/USDT/candles?interval=5m&end={end}")

    assert response.status_code == 200
    assert [(c["open"], c["close"]) for c in response.json()] == [("100", "107")]
