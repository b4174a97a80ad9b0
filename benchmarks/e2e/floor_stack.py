"""The exchange's topology with nothing of the exchange in it: what the hops alone cost an order.

The same servers, libraries and hops as the stack the end-to-end benchmark
runs, each doing the least its place in the pipeline must do:

- **api** (granian, WSGI, the Procfile's flags): checks the request's
  Ed25519 signature, parses the JSON body, and appends it to the input
  stream in one XADD on a held connection; answers 202 with the entry id as
  the order id;
- **accounts**: reads the input stream (XREADGROUP, blocking), writes the
  batch's rows to MariaDB in one multi-row INSERT (autocommit), and in one
  round trip forwards the batch to the matching stream as one entry and
  acknowledges it;
- **matching**: reads that stream, pairs each buy with the oldest resting
  sell, writes the batch's trades in one INSERT, and in one round trip
  publishes each trade's two fills on the traders' channels and the trade on
  the market's, and acknowledges;
- **web** (daphne, a bare ASGI application, no Channels): logs a WebSocket
  in by its signature, subscribes it, and forwards each publication of its
  channels as one frame, from one pub/sub connection for the process.

No validation, no funds, no order book, no per-user sequence, no journeys,
no metrics: every order event a trader gets from the exchange but the fill
is left out. The real stack can only cost more; how much more is what its
Python adds. The sender and the listener of the end-to-end benchmark drive
it unchanged (benchmarks/e2e/floor.py).

    python -m benchmarks.e2e.floor_stack accounts|matching
    granian --interface wsgi ... benchmarks.e2e.floor_stack:api_application
    daphne ... benchmarks.e2e.floor_stack:ws_application
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

PREFIX = os.environ.get("FLOOR_PREFIX", "floor")
IN_STREAM, MATCH_STREAM, GROUP = f"{PREFIX}:in", f"{PREFIX}:match", "floor"
TRADES_CHANNEL = f"{PREFIX}:trades"
SYMBOL = "BTC/USDT"
StartResponse = Callable[..., Any]


def user_channel(user_id: int | str) -> str:
    return f"{PREFIX}:user:{user_id}"


def trader_keys() -> dict[str, tuple[int, VerifyKey]]:
    """Each trader's key id -> (user id, public key), from the benchmark's traders file."""
    traders = json.loads(Path(os.environ["FLOOR_TRADERS"]).read_text())
    return {
        t["key_id"]: (t["user_id"], SigningKey(base64.b64decode(t["private_key"])).verify_key)
        for t in traders
    }


def order_id(entry_id: bytes) -> int:
    """An order's id, made from its entry id in the input stream: millisecond * 1000 + sequence."""
    millisecond, _, sequence = entry_id.partition(b"-")
    return int(millisecond) * 1000 + int(sequence)


def mysql_connection(url: str, with_database: bool = True, autocommit: bool = False) -> Any:
    """A MySQLdb connection to the server of a mysql:// URL, in its database or in none."""
    import MySQLdb  # type: ignore[import-untyped]

    parts = urlsplit(url)
    options = {"database": parts.path.lstrip("/")} if with_database else {}
    return MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        autocommit=autocommit,
        **options,
    )


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"], single_connection_client=True)


# -- api ---------------------------------------------------------------------------------------------


class FloorApi:
    def __init__(self) -> None:
        self.keys = trader_keys()
        self.local = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, payload = self.place(environ, body)
        answer = json.dumps(payload, separators=(",", ":")).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        return [answer]

    def place(self, environ: dict[str, Any], body: bytes) -> tuple[str, dict[str, Any]]:
        key = self.keys.get(environ.get("HTTP_X_SPOT_KEY", ""))
        if key is None:
            return "401 Unauthorized", {"code": "UNKNOWN_KEY"}
        user_id, verify_key = key
        timestamp = environ.get("HTTP_X_SPOT_TIMESTAMP", "")
        signed = f"{timestamp}\n{environ['REQUEST_METHOD']}\n{environ['PATH_INFO']}\n".encode() + body
        try:
            verify_key.verify(signed, base64.b64decode(environ.get("HTTP_X_SPOT_SIGNATURE", "")))
        except (BadSignatureError, ValueError):
            return "401 Unauthorized", {"code": "BAD_SIGNATURE"}
        order = json.loads(body)
        client: redis.Redis | None = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = redis_client()
        entry_id = client.xadd(IN_STREAM, {"u": user_id, "s": order["side"], "c": order["client_order_id"]})
        assert isinstance(entry_id, bytes)  # a client without decode_responses
        return "202 Accepted", {"order_id": order_id(entry_id), "status": "PENDING_NEW"}


def api_application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    global _api
    if _api is None:
        with _api_made:  # granian's threads take their first requests together
            if _api is None:
                _api = FloorApi()
    return _api(environ, start_response)


_api: FloorApi | None = None
_api_made = threading.Lock()


# -- the two stages --------------------------------------------------------------------------------


class Flusher:
    """Writes what the stage hands it, all that came meanwhile in one autocommitted INSERT.

    As the exchange's workers do (ADR 0003, 0018): the loop never waits for
    the database, a write covers every batch read while the last one ran and
    costs one round trip, and the entries it covered are acknowledged with
    the stage's next read.
    """

    def __init__(self, insert: str) -> None:
        self.insert = insert
        self.rows: list[tuple[Any, ...]] = []
        self.ids: list[bytes] = []
        self.committed: list[bytes] = []
        self.ready = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def hand_over(self, rows: list[tuple[Any, ...]], ids: list[bytes]) -> None:
        with self.ready:
            self.rows += rows
            self.ids += ids
            self.ready.notify()

    def take_committed(self) -> list[bytes]:
        with self.ready:
            committed, self.committed = self.committed, []
        return committed

    def _run(self) -> None:
        cursor = mysql_connection(os.environ["FLOOR_DATABASE_URL"], autocommit=True).cursor()
        while True:
            with self.ready:
                while not self.ids:
                    self.ready.wait()
                rows, ids, self.rows, self.ids = self.rows, self.ids, [], []
            if rows:
                cursor.executemany(self.insert, rows)  # one multi-row INSERT, committed
            with self.ready:
                self.committed += ids


def read_batches(
    client: redis.Redis, stream: str, flusher: Flusher
) -> Iterable[tuple[list[bytes], list[dict[bytes, bytes]]]]:
    """Each read's entries; what the flusher committed meanwhile is acknowledged in the read's round trip."""
    with contextlib.suppress(redis.ResponseError):  # the group exists
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    while True:
        pipe = client.pipeline(transaction=False)
        committed = flusher.take_committed()
        if committed:
            pipe.xack(stream, GROUP, *committed)
        pipe.xreadgroup(GROUP, "floor", {stream: ">"}, count=1000, block=1000)
        reply = pipe.execute()[-1]
        if reply:
            entries = reply[0][1]
            yield [entry_id for entry_id, _ in entries], [fields for _, fields in entries]


def run_accounts() -> None:
    client = redis_client()
    flusher = Flusher("INSERT INTO floor_order (id, user_id, side, client_order_id) VALUES (%s, %s, %s, %s)")
    for ids, entries in read_batches(client, IN_STREAM, flusher):
        orders = [
            (order_id(entry_id), int(f[b"u"]), f[b"s"].decode(), f[b"c"].decode())
            for entry_id, f in zip(ids, entries, strict=True)
        ]
        client.xadd(MATCH_STREAM, {"b": json.dumps(orders)})
        flusher.hand_over(orders, ids)


def run_matching() -> None:
    client = redis_client()
    flusher = Flusher("INSERT INTO floor_trade (id, maker_order, taker_order) VALUES (%s, %s, %s)")
    resting: dict[str, deque[tuple[int, int, str]]] = {"BUY": deque(), "SELL": deque()}
    trade_id = 0
    for ids, entries in read_batches(client, MATCH_STREAM, flusher):
        pipe = client.pipeline(transaction=False)
        trades = []
        for fields in entries:
            for taker_id, user_id, side, client_order_id in json.loads(fields[b"b"]):
                makers = resting["SELL" if side == "BUY" else "BUY"]
                if not makers:
                    resting[side].append((taker_id, user_id, client_order_id))
                    continue
                maker = makers.popleft()
                trade_id += 1
                trades.append((trade_id, maker[0], taker_id))
                for role, (oid, uid, cid) in (
                    ("TAKER", (taker_id, user_id, client_order_id)),
                    ("MAKER", maker),
                ):
                    fill = {"order_id": oid, "client_order_id": cid, "trade_id": trade_id, "role": role}
                    pipe.publish(user_channel(uid), json.dumps({"type": "fill", "data": fill}))
                frame = {"channel": f"trades:{SYMBOL}", "data": {"trade_id": trade_id}}
                pipe.publish(TRADES_CHANNEL, json.dumps(frame))
        if len(pipe):
            pipe.execute()
        flusher.hand_over(trades, ids)


# -- web -----------------------------------------------------------------------------------------------

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Hub:
    """One pub/sub connection for the process; each publication goes to its channel's connections."""

    def __init__(self) -> None:
        import redis.asyncio

        self.keys = trader_keys()
        self.pubsub = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"]).pubsub()
        self.subscribers: dict[str, set[Send]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def subscribe(self, channel: str, send: Send) -> None:
        self.subscribers.setdefault(channel, set()).add(send)
        if self.reader is None:
            self.reader = asyncio.get_running_loop().create_task(self.forward())
        await self.listening.wait()

    async def forward(self) -> None:
        # One pattern for every channel of the run: no command while the reader waits.
        await self.pubsub.psubscribe(f"{PREFIX}:*")
        self.listening.set()
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is None:
                continue
            text = message["data"].decode()
            for send in list(self.subscribers.get(message["channel"].decode(), ())):
                await send({"type": "websocket.send", "text": text})


_hub: Hub | None = None


async def ws_application(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Send) -> None:
    global _hub
    if scope["type"] == "lifespan":
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if _hub is None:
        _hub = Hub()
    user_id: int | None = None
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.disconnect":
            return
        elif event["type"] == "websocket.receive":
            frame = json.loads(event.get("text") or "{}")
            if frame.get("op") == "auth":
                user_id = _logged_in(_hub, frame)
                reply = "authenticated" if user_id is not None else "error"
                await send({"type": "websocket.send", "text": json.dumps({"type": reply})})
            elif frame.get("op") == "subscribe":
                for channel in frame.get("channels", ()):
                    if channel == "private" and user_id is not None:
                        await _hub.subscribe(user_channel(user_id), send)
                    elif channel == f"trades:{SYMBOL}":
                        await _hub.subscribe(TRADES_CHANNEL, send)
                await send({"type": "websocket.send", "text": json.dumps({"type": "subscribed"})})


def _logged_in(hub: Hub, frame: dict[str, Any]) -> int | None:
    key = hub.keys.get(frame.get("key", ""))
    if key is None:
        return None
    try:
        key[1].verify(f"{frame['timestamp']}\nGET\n/ws/\n".encode(), base64.b64decode(frame["signature"]))
    except (BadSignatureError, KeyError, ValueError):
        return None
    return key[0]


if __name__ == "__main__":
    {"accounts": run_accounts, "matching": run_matching}[sys.argv[1]]()
