"""Helpers of the API tests: signed clients on both serving paths, stream readers, a fake engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from werkzeug.test import Client as WerkzeugClient

from exchange.api import serving
from exchange.api.serving import OrderFastPath
from exchange.api.signing import private_key_from_text, signed_headers
from exchange.models import Market, Order
from exchange.pipeline.ids import order_id_for
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.pipeline.user_events import append_commands
from exchange.pipeline.wire import Wire
from exchange.routing import account_shard_for
from exchange.services.api_keys import IssuedKey
from spot.redis_connection import connect


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


Transport = Callable[[str, str, bytes, dict[str, str]], Reply]


def django_transport(client: Client) -> Transport:
    def send(method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        response = client.generic(method, target, body, content_type="application/json", headers=headers)
        return Reply(response.status_code, dict(response.headers), response.content)

    return send


@contextmanager
def keeping_test_connection() -> Iterator[None]:
    """As Django's test client does: the test's connection (and transaction) must survive requests."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        # The fast path recycles connections itself, outside the signals.
        with patch.object(serving, "close_old_connections", lambda **kwargs: None):
            yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def wsgi_transport(app: Any) -> Transport:
    client = WerkzeugClient(app)

    def send(method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        with keeping_test_connection():
            response = client.open(
                target,
                "http://testserver",
                method=method,
                data=body,
                headers=headers,
                content_type="application/json",
            )
        return Reply(response.status_code, dict(response.headers), response.get_data())

    return send


def fast_path_app() -> OrderFastPath:
    return OrderFastPath(WSGIHandler())


class SignedClient:
    """Signs every request with one API key, as a trader's bot would."""

    def __init__(self, transport: Transport, key: IssuedKey | None) -> None:
        self.transport = transport
        self.key = key

    def request(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        timestamp_ms: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        sent = dict(headers or {})
        if self.key is not None:
            assert self.key.private_key is not None
            private = private_key_from_text(self.key.private_key)
            sent = {
                **signed_headers(self.key.api_key.key_id, private, method, target, data, timestamp_ms),
                **sent,
            }
        return self.transport(method, target, data, sent)

    def get(self, target: str, **kwargs: Any) -> Reply:
        return self.request("GET", target, **kwargs)

    def post(self, target: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", target, body, **kwargs)

    def delete(self, target: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", target, **kwargs)

    def patch(self, target: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", target, body, **kwargs)


def limit_buy(**overrides: Any) -> dict[str, Any]:
    order = {"market": "BTC/USDT", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.001"}
    order.update(overrides)
    return order


def stream_commands(user_id: int) -> list[dict[str, Any]]:
    """Every command in the user's accounts stream, oldest first."""
    client = connect(settings.REDIS_URL)
    try:
        entries: Any = client.xrange(accounts_keys(account_shard_for(user_id)).stream)
    finally:
        client.close()
    return [decode(fields) for _, fields in entries]


def order_row(user: User, market: Market, order_id: int, **fields: Any) -> Order:
    """An order row as the workers write it (not saved): a NEW limit buy unless `fields` say otherwise."""
    now = timezone.now()
    values: dict[str, Any] = {
        "client_order_id": f"cid-{order_id}",
        "side": "BUY",
        "type": "LIMIT",
        "price": Decimal("30000"),
        "quantity": Decimal("0.001"),
        "status": "NEW",
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Order(id=order_id, user=user, market=market, **values)


def persist_order(user: User, market: Market, order_id: int, **fields: Any) -> Order:
    """What the workers write a few milliseconds after the command."""
    order = order_row(user, market, order_id, **fields)
    order.save(force_insert=True)
    return order


class FakeEngine:
    """Stands in for the workers: answers each place command in the user's feed, as they append."""

    def __init__(
        self, verdict: Callable[[dict[str, Any]], dict[str, Any] | None], ids_as_text: bool = False
    ) -> None:
        self.verdict = verdict
        self.ids_as_text = ids_as_text  # as the WebSocket rule has it: ids are strings
        self._stop = threading.Event()
        self._client = connect(settings.REDIS_URL)
        self._prefix = settings.REDIS_KEY_PREFIX
        self._streams = {
            accounts_keys(shard, self._prefix).stream: shard for shard in range(settings.ACCOUNT_SHARDS)
        }
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> FakeEngine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        last = dict.fromkeys(self._streams, "0-0")
        while not self._stop.is_set():
            replies: Any = self._client.xread(last, block=50)  # type: ignore[arg-type]
            for stream, entries in replies or []:
                name = stream.decode()
                for entry_id, fields in entries:
                    last[name] = entry_id.decode()
                    self._answer(order_id_for(entry_id, self._streams[name]), decode(fields))

    def _answer(self, order_id: int, command: dict[str, Any]) -> None:
        if command.get("t") != "place":
            return
        update = self.verdict(command)
        if update is None:
            return
        message = {
            "type": "order",
            "order_id": str(order_id) if self.ids_as_text else order_id,
            "client_order_id": command["cid"],
            "symbol": command["m"],
            "executed_quantity": "0",
            "executed_quote": "0",
            "reject_reason": "",
            **update,
        }
        channel = f"{self._prefix}:user:{command['uid']}"
        Wire(self._client).round_trip(append_commands(channel, [json.dumps(message).encode()], 100))
