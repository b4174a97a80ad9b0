"""The private channel: signed login, the user's own events only, resume by sequence."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.contrib.auth.models import User

from exchange.models import Market
from exchange.pipeline.user_events import events_stream, seq_counter
from exchange.realtime import hub as hub_module
from exchange.realtime.hub import Hub
from exchange.services.api_keys import IssuedKey
from tests.realtime.support import (
    EventSource,
    auth_frame,
    auth_headers,
    connect,
    credentials,
    receive,
    request,
    run,
)


def test_private_needs_a_login_and_the_refusal_leaves_the_connection_open(market: Market) -> None:
    async def body() -> None:
        ws = await connect()
        refused = await request(ws, {"op": "subscribe", "channels": ["private"], "id": 3})
        assert refused["type"] == "error" and refused["code"] == "UNAUTHENTICATED"
        assert refused["channel"] == "private" and refused["id"] == 3
        assert (await request(ws, {"op": "ping"}))["type"] == "pong"
        await ws.disconnect()

    run(body)


def test_a_login_in_a_frame_opens_the_users_private_channel(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    async def body() -> None:
        ws = await connect()
        assert await request(ws, {**auth_frame(alice_key), "id": 1}) == {
            "type": "authenticated",
            "user_id": alice.pk,
            "id": 1,
        }
        ack = await request(ws, {"op": "subscribe", "channels": ["private"]})
        assert ack["type"] == "subscribed" and ack["channel"] == "private"
        seq = events.order(alice.pk, 11, "NEW")
        frame = await receive(ws)
        assert frame["type"] == "order" and frame["channel"] == "private" and frame["seq"] == seq
        assert frame["data"]["order_id"] == "11" and frame["data"]["status"] == "NEW"
        await ws.disconnect()

    run(body)


def test_a_login_in_the_upgrade_headers_is_answered_at_once(alice: User, alice_key: IssuedKey) -> None:
    async def body() -> None:
        ws = await connect(auth_headers(alice_key))
        assert await receive(ws) == {"type": "authenticated", "user_id": alice.pk}
        await ws.disconnect()

    run(body)


def test_bad_logins_are_refused_with_the_apis_codes(alice_key: IssuedKey) -> None:
    async def body() -> None:
        ws = await connect()
        forged = {**auth_frame(alice_key), "signature": "A" * 88}
        assert (await request(ws, forged))["code"] == "BAD_SIGNATURE"
        stale = {"op": "auth", **credentials(alice_key, int(time.time() * 1000) - 60_000)}
        assert (await request(ws, stale))["code"] == "STALE_TIMESTAMP"
        assert (await request(ws, {**auth_frame(alice_key), "key": "sk_nobody"}))["code"] == "UNKNOWN_KEY"
        login = auth_frame(alice_key)
        assert (await request(ws, login))["type"] == "authenticated"
        # The same signed login cannot open a second session.
        other = await connect()
        assert (await request(other, login))["code"] == "REPLAYED"
        await other.disconnect()
        await ws.disconnect()

    run(body)


def test_one_user_never_receives_another_users_events(
    alice: User, bob: User, alice_key: IssuedKey, bob_key: IssuedKey, events: EventSource
) -> None:
    async def body() -> None:
        alice_ws = await connect(auth_headers(alice_key))
        bob_ws = await connect(auth_headers(bob_key))
        for ws in (alice_ws, bob_ws):
            assert (await receive(ws))["type"] == "authenticated"
            assert (await request(ws, {"op": "subscribe", "channels": ["private"]}))["type"] == "subscribed"
        events.order(bob.pk, 21)
        events.order(alice.pk, 22)
        assert (await receive(bob_ws))["data"]["order_id"] == "21"
        assert (await receive(alice_ws))["data"]["order_id"] == "22"
        assert await alice_ws.receive_nothing(timeout=0.2)
        assert await bob_ws.receive_nothing(timeout=0.2)
        # A second key of another user cannot take over a connection that has a user.
        later = int(time.time() * 1000) + 5  # not the signature of Bob's own login
        switched = await request(alice_ws, {"op": "auth", **credentials(bob_key, later)})
        assert switched["code"] == "ALREADY_AUTHENTICATED"
        events.order(bob.pk, 23)
        assert await alice_ws.receive_nothing(timeout=0.2)
        await alice_ws.disconnect()
        await bob_ws.disconnect()

    run(body)


def test_a_client_resumes_after_its_last_seq_without_gaps_or_repeats(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    first = events.order(alice.pk, 1)
    missed = [events.order(alice.pk, n) for n in (2, 3, 4)]

    async def body() -> None:
        ws = await connect(auth_headers(alice_key))
        await receive(ws)
        ack = await request(ws, {"op": "subscribe", "channels": ["private"], "since": first})
        assert ack == {"type": "subscribed", "channel": "private", "seq": first}
        replayed = [await receive(ws) for _ in missed]
        assert [frame["seq"] for frame in replayed] == missed
        assert [frame["data"]["order_id"] for frame in replayed] == ["2", "3", "4"]
        live = events.order(alice.pk, 5)
        assert (await receive(ws))["seq"] == live
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(body)


def test_a_seq_older_than_the_replay_buffer_is_told_to_resync_over_rest(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    oldest = events.order(alice.pk, 1)
    for n in range(2, 30):
        events.order(alice.pk, n)
    events.trim_user_events(alice.pk, 10)  # the replay buffer keeps the last 10

    async def body() -> None:
        ws = await connect(auth_headers(alice_key))
        await receive(ws)
        ack = await request(ws, {"op": "subscribe", "channels": ["private"], "since": oldest})
        head = ack["seq"]
        resync = await receive(ws)
        assert resync["type"] == "resync" and resync["reason"] == "REPLAY_UNAVAILABLE"
        assert resync["seq"] == head
        live = events.order(alice.pk, 99)
        frame = await receive(ws)
        assert frame["seq"] == live and frame["data"]["order_id"] == "99"
        await ws.disconnect()

    run(body)


def test_a_seq_the_server_never_issued_is_told_to_resync(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    events.order(alice.pk, 1)

    async def body() -> None:
        ws = await connect(auth_headers(alice_key))
        await receive(ws)
        await request(ws, {"op": "subscribe", "channels": ["private"], "since": 999})
        assert (await receive(ws))["type"] == "resync"
        await ws.disconnect()

    run(body)


def test_several_connections_of_one_user_each_get_every_event(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    async def body() -> None:
        now = int(time.time() * 1000)
        sockets = [await connect(auth_headers(alice_key, now + n)) for n in range(3)]
        for ws in sockets:
            assert (await receive(ws))["type"] == "authenticated"
            assert (await request(ws, {"op": "subscribe", "channels": ["private"]}))["type"] == "subscribed"
        seqs = [events.order(alice.pk, n) for n in range(5)]
        for ws in sockets:
            assert [(await receive(ws))["seq"] for _ in seqs] == seqs
        for ws in sockets:
            await ws.disconnect()

    run(body)


def test_the_next_entry_goes_out_as_published_and_a_gap_is_read_from_the_stream(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    """The publication of the entry after the last one delivered is sent as it came; after a
    missed one, the feed reads the stream and sends what it holds, in order."""
    channel = f"{events.prefix}:user:{alice.pk}"
    stream = events_stream(channel)

    async def body() -> None:
        ws = await connect()
        await request(ws, {**auth_frame(alice_key), "id": 1})
        await request(ws, {"op": "subscribe", "channels": ["private"]})
        first = events.order(alice.pk, 20, "NEW")
        assert (await receive(ws))["seq"] == first
        await until_listening_and_idle(events, channel, alice.pk)
        # The feed's confirmation of its SUBSCRIBE wakes it (a read of the stream) and may still
        # be on its way though Redis counts the subscriber; a read then would miss a publication
        # that is not in the stream. An event appended and published after it is delivered only
        # once the confirmation has been handled.
        seq = events.order(alice.pk, 21, "NEW")
        assert (await receive(ws))["seq"] == seq
        await until_listening_and_idle(events, channel, alice.pk)
        newest: Any = events.redis.xrevrange(stream, count=1)
        [(entry_id, _)] = newest
        millis, number = entry_id.decode().split("-")
        # Published only, never appended: it can only have come from the publication.
        published = f'{seq + 1}\n{millis}-{int(number) + 1}\n{{"type":"order","order_id":"22"}}'
        events.redis.publish(channel, published)
        direct = await receive(ws)
        assert (direct["seq"], direct["data"]["order_id"]) == (seq + 1, "22")
        # An entry whose publication was lost, then one published: the second's first seq is
        # not the next, so the feed reads the stream from its last entry and sends both.
        events.redis.set(seq_counter(stream), seq + 2)
        lost = {"s": seq + 2, "0": '{"type":"order","order_id":"23"}'}
        events.redis.xadd(stream, lost, id=f"{millis}-{int(number) + 2}")  # type: ignore[arg-type]
        events.order(alice.pk, 24, "NEW")
        read = [await receive(ws), await receive(ws)]
        assert [(f["seq"], f["data"]["order_id"]) for f in read] == [(seq + 2, "23"), (seq + 3, "24")]
        await ws.disconnect()

    run(body)


async def until_listening_and_idle(events: EventSource, channel: str, user_id: int) -> None:
    """Until the feed's SUBSCRIBE has landed (it follows the client's ack) and no read of the
    user's stream is under way: a publication of an entry that is not in the stream is then
    taken as published, or else by nobody."""
    stream = Hub._by_loop[asyncio.get_running_loop()].users.streams[user_id]
    async with asyncio.timeout(30):  # a guard for a broken feed, not a measure of speed
        while not dict(events.redis.pubsub_numsub(channel)).get(channel.encode()):
            await asyncio.sleep(0.01)
        while stream.fetching or stream.dirty:
            await asyncio.sleep(0.01)


def test_the_feed_resubscribes_when_its_pubsub_connection_is_killed_and_misses_nothing(
    alice: User, alice_key: IssuedKey, events: EventSource
) -> None:
    channel = f"{events.prefix}:user:{alice.pk}"

    async def body() -> None:
        ws = await connect()
        await request(ws, {**auth_frame(alice_key), "id": 1})
        await request(ws, {"op": "subscribe", "channels": ["private"]})
        first = events.order(alice.pk, 30, "NEW")
        assert (await receive(ws))["seq"] == first
        await until_listening_and_idle(events, channel, alice.pk)
        [connection] = [
            c for c in events.redis.client_list() if c.get("name") == f"{events.prefix}:ws-wakeups"
        ]
        events.redis.client_kill_filter(_id=connection["id"])
        # Appended while nobody listens: read from the stream once the new SUBSCRIBE is confirmed.
        missed = events.order(alice.pk, 31, "NEW")
        assert (await receive(ws))["seq"] == missed
        await until_listening_and_idle(events, channel, alice.pk)
        published = events.order(alice.pk, 32, "NEW")
        assert (await receive(ws))["seq"] == published
        await ws.disconnect()

    run(body)


def test_users_subscribing_while_the_feed_connects_are_all_subscribed(
    alice: User, alice_key: IssuedKey, bob: User, bob_key: IssuedKey, events: EventSource, monkeypatch: Any
) -> None:
    """A user who subscribes while the feed's pub/sub connection opens is subscribed too,
    not only those the feed knew of when it began to connect."""
    connecting = asyncio.Event()
    opened = hub_module.open_subscriber  # type: ignore[attr-defined]

    async def open_while_bob_subscribes(*args: Any) -> Any:
        subscriber = await opened(*args)
        connecting.set()
        hub = Hub._by_loop[asyncio.get_running_loop()]
        async with asyncio.timeout(30):  # a guard, not a measure of speed
            while bob.pk not in hub.users.streams:
                await asyncio.sleep(0.01)
        return subscriber

    monkeypatch.setattr(hub_module, "open_subscriber", open_while_bob_subscribes)

    async def subscribed(key: IssuedKey) -> Any:
        ws = await connect()
        await request(ws, {**auth_frame(key), "id": 1})
        await request(ws, {"op": "subscribe", "channels": ["private"]})
        return ws

    async def body() -> None:
        alice_ws = await subscribed(alice_key)
        async with asyncio.timeout(30):
            await connecting.wait()
        sockets = [alice_ws, await subscribed(bob_key)]
        for _ in range(2):  # the second round: after both SUBSCRIBEs have certainly landed
            for ws, user in zip(sockets, (alice, bob), strict=True):
                seq = events.order(user.pk, 40, "NEW")
                assert (await receive(ws, timeout=30))["seq"] == seq
                await until_listening_and_idle(events, f"{events.prefix}:user:{user.pk}", user.pk)
        for ws in sockets:
            await ws.disconnect()

    run(body)
