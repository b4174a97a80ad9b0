"""The 24-hour ticker of a market: read from the minute candles, kept current from trade events.

Loaded when a market's ticker gets its first subscriber in this process;
every trade event read from the shard's stream then moves last, high, low,
volume and count at once, and a frame goes out at most once per
WS_TICKER_INTERVAL_MS when something changed (a ticker is a summary, not a
feed: trades are on their own channel). The window slides when the state is
reloaded from the database, every WS_TICKER_REFRESH_S; trades the database
had not yet written at that moment are applied again from memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max, Min, Sum

from exchange.api.decimals import amount_text
from exchange.models import Candle, Trade
from exchange.realtime.db import database_sync_to_async
from exchange.realtime.frames import Frame, control, dumps
from exchange.realtime.outlet import Outlet
from exchange.realtime.protocol import ProtocolError

if TYPE_CHECKING:
    from exchange.realtime.hub import Hub

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
_REMEMBERED_TRADES = 2000


@dataclass
class TickerWindow:
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    last: Decimal | None
    volume: Decimal
    quote_volume: Decimal
    trades: int
    last_trade_id: int
    start_ms: int


def load_window(market_id: int, now: datetime) -> TickerWindow:
    """The last 24 hours by whole minutes, folded from the minute candles (never the trades table)."""
    start = (now - WINDOW).replace(second=0, microsecond=0)
    minutes = Candle.objects.filter(market_id=market_id, open_time__gte=start)
    totals = minutes.aggregate(
        high=Max("high"),
        low=Min("low"),
        volume=Sum("volume"),
        quote_volume=Sum("quote_volume"),
        trades=Sum("trades"),
        first_id=Min("first_trade_id"),
        last_id=Max("last_trade_id"),
    )
    first = minutes.filter(first_trade_id=totals["first_id"]).values_list("open", flat=True).first()
    last = minutes.filter(last_trade_id=totals["last_id"]).values_list("close", flat=True).first()
    # The newest trade of any age (index trade_market_recent): trades up to it are in the window.
    newest = Trade.objects.filter(market_id=market_id).aggregate(last_id=Max("id"))["last_id"]
    return TickerWindow(
        open=first,
        high=totals["high"],
        low=totals["low"],
        last=last,
        volume=totals["volume"] or Decimal(0),
        quote_volume=totals["quote_volume"] or Decimal(0),
        trades=totals["trades"] or 0,
        last_trade_id=newest or 0,
        start_ms=int(start.timestamp() * 1000),
    )


class TickerState:
    def __init__(self, symbol: str, market_id: int) -> None:
        self.symbol = symbol
        self.market_id = market_id
        self.window: TickerWindow | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.loaded_at = 0.0
        self.dirty = False
        self._waiting: list[dict[str, Any]] = []  # trades read while the first load runs
        self._recent: deque[dict[str, Any]] = deque(maxlen=_REMEMBERED_TRADES)
        self._frame: Frame | None = None
        self._updated_ms = 0

    def apply(self, trade: dict[str, Any]) -> None:
        window = self.window
        if window is None:
            self._waiting.append(trade)
            return
        trade_id = int(trade["trade_id"])
        if trade_id <= window.last_trade_id:
            return
        price, quantity = Decimal(trade["price"]), Decimal(trade["quantity"])
        window.last_trade_id = trade_id
        window.open = window.open if window.open is not None else price
        window.high = price if window.high is None else max(window.high, price)
        window.low = price if window.low is None else min(window.low, price)
        window.last = price
        window.volume += quantity
        window.quote_volume += price * quantity
        window.trades += 1
        self._recent.append(trade)
        self._updated_ms = int(trade.get("ts") or time.time() * 1000)
        self.dirty = True
        self._frame = None

    def loaded(self, window: TickerWindow) -> None:
        """A fresh window from the database, plus the trades it did not have yet."""
        replay = [*self._recent, *self._waiting]
        self.window, self._waiting = window, []
        self._recent.clear()
        self.loaded_at = time.monotonic()
        self._updated_ms = self._updated_ms or int(time.time() * 1000)
        self._frame = None
        for trade in replay:
            self.apply(trade)

    def frame(self) -> Frame:
        if self._frame is None:
            window = self.window
            assert window is not None
            change = (
                window.last - window.open if window.last is not None and window.open is not None else None
            )
            data = {
                "symbol": self.symbol,
                "open": amount_text(window.open),
                "high": amount_text(window.high),
                "low": amount_text(window.low),
                "last": amount_text(window.last),
                "change": amount_text(change)
                if change is None or change >= 0
                else f"-{amount_text(-change)}",
                "volume": amount_text(window.volume),
                "quote_volume": amount_text(window.quote_volume),
                "trades": window.trades,
                "window_start": window.start_ms,
                "ts": self._updated_ms,
            }
            channel = dumps(f"ticker:{self.symbol}")
            self._frame = Frame(f'{{"type":"ticker","channel":{channel},"data":{dumps(data)}}}')
        return self._frame


class TickerBoard:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.states: dict[str, TickerState] = {}
        self._task: asyncio.Task[None] | None = None
        self._loads: set[asyncio.Task[None]] = set()

    async def subscribe(
        self, outlet: Outlet, symbol: str, market_id: int, request_id: int | str | None
    ) -> None:
        channel = f"ticker:{symbol}"
        subscription = self.hub.registry.add(outlet, channel)
        subscription.send_now(control("subscribed", request_id, channel=channel))
        state = self.states.get(symbol)
        if state is None:
            state = self.states[symbol] = TickerState(symbol, market_id)
            self._load(state)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ws-tickers")
        try:
            await asyncio.shield(state.ready)
        except DatabaseError as exc:
            self.hub.registry.remove(outlet, channel)
            raise ProtocolError("UNAVAILABLE", "the ticker is briefly unavailable; retry") from exc
        if self.hub.registry.is_current(subscription):
            subscription.send_now(state.frame())
            subscription.activate()

    def on_trade(self, symbol: str, trade: dict[str, Any]) -> None:
        state = self.states.get(symbol)
        if state is not None:
            state.apply(trade)

    def _load(self, state: TickerState) -> None:
        async def load() -> None:
            try:
                window = await database_sync_to_async(load_window)(state.market_id, datetime.now(UTC))
            except DatabaseError as exc:
                logger.warning("ws: ticker of %s could not be loaded: %s", state.symbol, exc)
                if not state.ready.done():
                    state.ready.set_exception(exc)
                    self.states.pop(state.symbol, None)
                return
            state.loaded(window)
            if not state.ready.done():
                state.ready.set_result(None)

        task = asyncio.get_running_loop().create_task(load())
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _run(self) -> None:
        interval = settings.WS_TICKER_INTERVAL_MS / 1000
        while self.states:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for symbol, state in list(self.states.items()):
                channel = f"ticker:{symbol}"
                if not self.hub.registry.listened(channel) and state.ready.done():
                    del self.states[symbol]
                    continue
                if state.dirty:
                    state.dirty = False
                    self.hub.registry.publish(channel, state.frame())
                if state.window is not None and now - state.loaded_at > settings.WS_TICKER_REFRESH_S:
                    state.loaded_at = now  # one reload at a time
                    self._load(state)
        self._task = None

    async def close(self) -> None:
        tasks = [*self._loads, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
