"""Traders against any deployment: makers quoting around a moving mid, takers, readers, fill watchers.

    locust -f benchmarks/locust/locustfile.py --host http://127.0.0.1:8001 \\
        --keys-file var/load-users.json --market BTC/USDT --ws-url ws://127.0.0.1:8000/ws/

Keys come from `manage.py provision_load_users`; each locust user takes the
next one (workers of a distributed run start at different places in the
file). The mix, by user class weight: makers 4 (quote, amend, cancel),
takers 2 (IOC and market orders that cross), readers 3 (depth, ticker,
trades, open orders, balances), fill watchers 1 (IOC orders, timed from the
REST request to the first fill on the private WebSocket, reported as the
request "ws fill latency"). README: "Load testing".
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import gevent  # type: ignore[import-untyped]
from gevent.lock import Semaphore  # type: ignore[import-untyped]
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

from benchmarks.locust.fills import FillWatcher
from benchmarks.locust.market import Grid, MovingMid
from benchmarks.locust.signed import API, SignedRequest, Trader, market_path, public

MAX_RESTING = 20  # a maker's open quotes; past this it cancels before quoting again
_traders: Iterator[dict[str, Any]] | None = None
_grids: dict[str, Grid] = {}
_mids: dict[str, MovingMid] = {}
# The first user of a process asks for the market's rules and mid; the others wait for its answer.
_first_look = Semaphore()


def _add_options(parser: Any) -> None:
    parser.add_argument("--keys-file", default="var/load-users.json", help="From provision_load_users.")
    parser.add_argument("--market", default="BTC/USDT", help="The market to trade.")
    parser.add_argument("--mid", default="", help="Starting mid price when the book is empty.")
    parser.add_argument("--ws-url", default="", help="Private WebSocket URL (default: the host's /ws/).")


events.init_command_line_parser.add_listener(_add_options)


def options(environment: Environment) -> Any:
    """The command line's options, the suite's own among them."""
    assert environment.parsed_options is not None
    return environment.parsed_options


def next_trader(environment: Environment) -> Trader:
    """The next key of the file; each worker of a distributed run starts elsewhere in it."""
    global _traders
    if _traders is None:
        with open(options(environment).keys_file) as handle:
            users = json.load(handle)["users"]
        start = (getattr(environment.runner, "worker_index", 0) * 7919) % len(users)
        _traders = itertools.cycle(users[start:] + users[:start])
    return Trader.from_keys_entry(next(_traders), environment.host or "")


class Trading(FastHttpUser):
    abstract = True
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.trader = next_trader(self.environment)
        self.symbol = options(self.environment).market
        with _first_look:
            self.grid = self._grid()
            self.mid = self._mid()

    def send(self, request: SignedRequest, expected: tuple[int, ...] = ()) -> Any:
        """Send; a 2xx or an `expected` status is a success (a cancel of an order that just filled is 404)."""
        with self.client.request(
            request.method,
            request.target,
            data=request.body.decode() or None,  # JSON: ASCII, as signed
            headers=request.headers,
            name=request.name,
            catch_response=True,
        ) as response:
            status = response.status_code or 0
            if 200 <= status < 300:
                return response.json()
            if status in expected:
                response.success()
            else:
                response.failure(f"{status}: {(response.text or '')[:200]}")
        return None

    def _grid(self) -> Grid:
        if self.symbol not in _grids:
            markets = self.send(public("GET", f"{API}/markets", "GET /markets", self.trader.base_path))
            found = [m for m in markets or [] if m["symbol"] == self.symbol]
            if not found:
                raise RuntimeError(f"no market {self.symbol} at {self.environment.host}")
            _grids[self.symbol] = Grid.from_api(found[0])
        return _grids[self.symbol]

    def _mid(self) -> MovingMid:
        """One walk per market and process, starting from the book, the last trade or --mid."""
        if self.symbol not in _mids:
            base = self.trader.base_path
            depth = self.send(public("GET", f"{market_path(self.symbol)}/depth", "GET depth", base)) or {}
            ticker = self.send(public("GET", f"{market_path(self.symbol)}/ticker", "GET ticker", base)) or {}
            if depth.get("bids") and depth.get("asks"):
                start = (Decimal(depth["bids"][0][0]) + Decimal(depth["asks"][0][0])) / 2
            elif ticker.get("last"):
                start = Decimal(ticker["last"])
            elif options(self.environment).mid:
                start = Decimal(options(self.environment).mid)
            else:
                raise RuntimeError(f"{self.symbol} has no book and no trades: pass --mid")
            _mids[self.symbol] = MovingMid(start)
        return _mids[self.symbol]

    def order(self, side: str, price: Decimal, size: float, name: str, **extra: Any) -> Any:
        fields = {
            "market": self.symbol,
            "side": side,
            "type": "LIMIT",
            "price": self.grid.price(price),
            "quantity": self.grid.quantity(price, size),
            "client_order_id": f"lt{self.trader.user_id}-{time.time_ns() // 1000 % 10**12}-{random.randrange(10**6)}",
            **extra,
        }
        return self.send(self.trader.place(fields, name))


class Maker(Trading):
    """Quotes both sides a few basis points around the mid; moves and pulls its quotes as the mid drifts."""

    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.resting: list[int] = []
        self.send(self.trader.cancel_all(self.symbol))  # a clean slate after an earlier run

    def on_stop(self) -> None:
        self.send(self.trader.cancel_all(self.symbol))

    @task(5)
    def quote(self) -> None:
        if len(self.resting) >= MAX_RESTING:
            self.cancel()
            return
        side = random.choice(("BUY", "SELL"))
        away = random.uniform(5, 50) * (-1 if side == "BUY" else 1)
        placed = self.order(side, self.mid.offset(away), random.uniform(1.5, 6), "POST /orders (maker)")
        self.mid.step()
        if placed:
            self.resting.append(placed["order_id"])

    @task(3)
    def amend(self) -> None:
        if not self.resting:
            return
        order_id = random.choice(self.resting)
        away = random.uniform(5, 50) * random.choice((-1, 1))
        # 409: the new price would cross or the order is ending; 404: it is gone.
        self.send(self.trader.amend(order_id, self.grid.price(self.mid.offset(away))), expected=(404, 409))

    @task(2)
    def cancel(self) -> None:
        if self.resting:
            order_id = self.resting.pop(random.randrange(len(self.resting)))
            self.send(self.trader.cancel(order_id), expected=(404, 409))


class Taker(Trading):
    """Crosses the spread: IOC limits through the mid, and now and then a market order."""

    weight = 2

    @task(4)
    def cross(self) -> None:
        side = random.choice(("BUY", "SELL"))
        through = random.uniform(20, 80) * (1 if side == "BUY" else -1)
        self.order(
            side, self.mid.offset(through), random.uniform(1.2, 3), "POST /orders (IOC)", time_in_force="IOC"
        )

    @task(1)
    def market(self) -> None:
        side = random.choice(("BUY", "SELL"))
        fields: dict[str, Any] = {
            "market": self.symbol,
            "side": side,
            "type": "MARKET",
            "client_order_id": f"lm{self.trader.user_id}-{time.time_ns() // 1000 % 10**12}",
        }
        if side == "BUY":
            fields["quote_quantity"] = str(int(max(self.grid.min_notional, Decimal(1)) * 2))
        else:
            fields["quantity"] = self.grid.quantity(self.mid.value, 2)
        self.send(self.trader.place(fields, "POST /orders (market)"))


class Reader(Trading):
    """What a trading screen polls: the book, the ticker, recent trades, own orders and balances."""

    weight = 3

    @task(4)
    def depth(self) -> None:
        self.send(
            public("GET", f"{market_path(self.symbol)}/depth?limit=20", "GET depth", self.trader.base_path)
        )

    @task(2)
    def ticker(self) -> None:
        self.send(public("GET", f"{market_path(self.symbol)}/ticker", "GET ticker", self.trader.base_path))

    @task(1)
    def trades(self) -> None:
        self.send(
            public("GET", f"{market_path(self.symbol)}/trades?limit=50", "GET trades", self.trader.base_path)
        )

    @task(2)
    def open_orders(self) -> None:
        self.send(self.trader.open_orders(self.symbol))

    @task(2)
    def balances(self) -> None:
        self.send(self.trader.balances())


class FillWatching(Trading):
    """Sends IOC orders through the mid and times each one from the REST request to its first fill."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        url = options(self.environment).ws_url or _ws_url(self.environment.host or "")
        self.watcher = FillWatcher(url, self.trader.ws_login(), self._report)
        started = time.perf_counter()
        try:
            self.watcher.open()
        except Exception as exc:
            self._fire("ws login", (time.perf_counter() - started) * 1000, exc)
            raise
        self._fire("ws login", (time.perf_counter() - started) * 1000)
        self.reader = gevent.spawn(self.watcher.run)

    def on_stop(self) -> None:
        self.watcher.close()
        self.reader.kill(block=False)

    @task
    def cross_and_time(self) -> None:
        side = random.choice(("BUY", "SELL"))
        through = random.uniform(20, 80) * (1 if side == "BUY" else -1)
        started = time.perf_counter()
        placed = self.order(
            side, self.mid.offset(through), 1.2, "POST /orders (timed IOC)", time_in_force="IOC"
        )
        if placed:
            self.watcher.sent(placed["order_id"], started)

    def _report(self, milliseconds: float) -> None:
        self._fire("ws fill latency", milliseconds)

    def _fire(self, name: str, milliseconds: float, exception: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=milliseconds,
            response_length=0,
            exception=exception,
            context={},
        )


def _ws_url(host: str) -> str:
    scheme, _, rest = host.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws/"
