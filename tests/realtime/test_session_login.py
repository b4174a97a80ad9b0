"""The market page's login: a Django session counts on a same-origin connection only."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from exchange.models import Market
from tests.realtime.support import EventSource, connect, receive, request, run


def session_headers(user: User, origin: str, host: str = "127.0.0.1:8000") -> list[tuple[bytes, bytes]]:
    browser = Client()
    browser.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"host", host.encode()), (b"origin", origin.encode()), (b"cookie", cookie.encode())]


def test_a_session_on_the_exchanges_own_page_opens_the_private_channel(
    alice: User, market: Market, events: EventSource
) -> None:
    headers = session_headers(alice, "http://127.0.0.1:8000")

    async def body() -> None:
        ws = await connect(headers)
        assert await receive(ws) == {"type": "authenticated", "user_id": alice.pk}
        assert (await request(ws, {"op": "subscribe", "channels": ["private"]}))["type"] == "subscribed"
        seq = events.order(alice.pk, 12, "NEW")
        frame = await receive(ws)
        assert (frame["type"], frame["seq"], frame["data"]["order_id"]) == ("order", seq, "12")
        await ws.disconnect()

    run(body)


def test_a_session_cookie_sent_by_a_foreign_page_is_ignored(alice: User, market: Market) -> None:
    headers = session_headers(alice, "https://evil.example")

    async def body() -> None:
        ws = await connect(headers)
        refused = await request(ws, {"op": "subscribe", "channels": ["private"]})
        assert refused["type"] == "error" and refused["code"] == "UNAUTHENTICATED"
        ack = await request(ws, {"op": "subscribe", "channels": ["trades:BTC/USDT"]})
        assert ack == {"type": "subscribed", "channel": "trades:BTC/USDT"}
        await ws.disconnect()

    run(body)


def test_a_session_of_a_deactivated_user_is_refused(alice: User, market: Market) -> None:
    headers = session_headers(alice, "http://127.0.0.1:8000")
    User.objects.filter(pk=alice.pk).update(is_active=False)

    async def body() -> None:
        ws = await connect(headers)
        refused = await request(ws, {"op": "subscribe", "channels": ["private"]})
        assert refused["type"] == "error" and refused["code"] == "UNAUTHENTICATED"
        await ws.disconnect()

    run(body)
