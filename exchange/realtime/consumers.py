"""The /ws/ endpoint: parse what a client asks, hand it to the process's Hub, answer.

Everything the connection sends, replies included, goes through its outlet,
so a reply can never overtake the events queued before it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from exchange.models import Market
from exchange.realtime.auth import (
    authenticate,
    authenticate_session,
    credentials_from_headers,
    session_key_from_headers,
)
from exchange.realtime.daphne_outlet import (
    DirectOutlet,
    backpressure,
    close_oversized_frames,
    daphne_protocol,
)
from exchange.realtime.db import database_sync_to_async
from exchange.realtime.frames import control
from exchange.realtime.hub import Hub, MarketRef
from exchange.realtime.outlet import AsgiOutlet, Outlet
from exchange.realtime.protocol import PRIVATE, Channel, ProtocolError, Request, parse_request
from exchange.realtime.user_feed import user_channel
from exchange.routing import SymbolRouter


# channels ships no type hints.
class StreamConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    hub: Hub
    outlet: Outlet | None = None
    user_id: int | None = None

    async def connect(self) -> None:
        self.hub = Hub.current()
        await self.accept()
        close_oversized_frames(self.base_send)
        self.outlet = self._open_outlet()
        headers = self.scope.get("headers", ())
        credentials = credentials_from_headers(headers)
        if credentials is not None:
            await self._authenticate(credentials, None)
            return
        session_key = session_key_from_headers(headers)
        if session_key is not None:
            user_id = await self.verify_session(session_key)
            if user_id is not None:
                self.user_id = user_id
                self._reply(control("authenticated", None, user_id=user_id))

    async def disconnect(self, code: int) -> None:
        if self.outlet is not None:
            self.hub.drop(self.outlet)
            self.outlet.shutdown()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            request = parse_request(text_data, settings.WS_MAX_CLIENT_FRAME_CHARS)
            if request.op == "subscribe":
                await self._subscribe(request)
            elif request.op == "unsubscribe":
                self._unsubscribe(request)
            elif request.op == "auth":
                assert request.auth is not None
                await self._authenticate(request.auth, request.request_id)
            else:
                self._reply(control("pong", request.request_id))
        except ProtocolError as exc:
            self._error(exc)

    # ------------------------------------------------------------- operations

    async def _subscribe(self, request: Request) -> None:
        assert self.outlet is not None
        for channel in request.channels:
            try:
                full = self.hub.registry.count(self.outlet) >= settings.WS_MAX_SUBSCRIPTIONS
                if full and self._is_new(channel):
                    raise ProtocolError(
                        "TOO_MANY_SUBSCRIPTIONS",
                        f"a connection may hold {settings.WS_MAX_SUBSCRIPTIONS} subscriptions",
                    )
                if channel.kind == PRIVATE:
                    if self.user_id is None:
                        raise ProtocolError(
                            "UNAUTHENTICATED",
                            "authenticate with a signed API key (or a session on the exchange's "
                            "own pages) before subscribing to private",
                        )
                    await self.hub.subscribe_private(
                        self.outlet, self.user_id, request.since, request.request_id
                    )
                else:
                    market = await self._market(channel)
                    await self.hub.subscribe_market(self.outlet, channel, market, request.request_id)
            except ProtocolError as exc:
                self._error(exc, request.request_id, channel)

    def _is_new(self, channel: Channel) -> bool:
        assert self.outlet is not None
        name = channel.name
        if channel.kind == PRIVATE and self.user_id is not None:
            name = user_channel(self.user_id)
        return not self.hub.registry.holds(self.outlet, name)

    def _unsubscribe(self, request: Request) -> None:
        assert self.outlet is not None
        for channel in request.channels:
            if self.hub.unsubscribe(self.outlet, channel, self.user_id):
                self._reply(control("unsubscribed", request.request_id, channel=channel.name))
            else:
                self._error(
                    ProtocolError("NOT_SUBSCRIBED", "not subscribed to this channel"),
                    request.request_id,
                    channel,
                )

    async def _authenticate(self, credentials: dict[str, str], request_id: int | str | None) -> None:
        try:
            user_id = await self.verify(credentials)
        except ProtocolError as exc:
            self._error(exc, request_id)
            return
        if self.user_id is not None and user_id != self.user_id:
            # The private channel is bound to one user for the life of the connection.
            self._error(
                ProtocolError("ALREADY_AUTHENTICATED", "this connection belongs to another key's user"),
                request_id,
            )
            return
        self.user_id = user_id
        self._reply(control("authenticated", request_id, user_id=user_id))

    async def _market(self, channel: Channel) -> MarketRef:
        assert channel.symbol is not None
        known, market = self.hub.markets.get(channel.symbol)
        if not known:
            market = await self.load_market(channel.symbol)
            self.hub.markets.put(channel.symbol, market)
        if market is None:
            raise ProtocolError("UNKNOWN_MARKET", f"no market {channel.symbol}")
        return market

    # --------------------------------------------------------- database/redis

    @database_sync_to_async
    def load_market(self, symbol: str) -> MarketRef | None:
        market = Market.objects.filter(symbol=symbol).only("id", "symbol", "shard_override").first()
        if market is None:
            return None
        return MarketRef(market.symbol, market.pk, SymbolRouter.from_settings().shard_for_market(market))

    @database_sync_to_async
    def verify_session(self, session_key: str) -> int | None:
        return authenticate_session(session_key)

    @database_sync_to_async
    def verify(self, credentials: dict[str, str]) -> int:
        return authenticate(credentials)

    # ---------------------------------------------------------------- sending

    def _open_outlet(self) -> Outlet:
        budget = settings.WS_SEND_BUFFER_BYTES
        protocol = daphne_protocol(self.base_send)
        if protocol is None:
            return AsgiOutlet(self.base_send, budget, self._too_slow)
        direct = DirectOutlet.open(protocol, budget, self._too_slow) if settings.WS_DIRECT_WRITE else None
        if direct is not None:
            return direct
        return AsgiOutlet(self.base_send, budget, self._too_slow, backpressure(protocol))

    def _too_slow(self, outlet: Outlet) -> None:
        self.hub.drop(outlet)
        asyncio.get_running_loop().create_task(outlet.slow_consumer_close())

    def _reply(self, frame: Any) -> None:
        assert self.outlet is not None
        self.outlet.offer(frame)

    def _error(
        self, exc: ProtocolError, request_id: int | str | None = None, channel: Channel | None = None
    ) -> None:
        fields: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if channel is not None:
            fields["channel"] = channel.name
        self._reply(control("error", exc.request_id if exc.request_id is not None else request_id, **fields))
