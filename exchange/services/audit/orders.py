"""Every acknowledged order is stored exactly once.

An order is acknowledged when its place entry is in the accounts stream;
its id is derived from that entry's id (exchange/pipeline/ids.py), so the
audit can name the entry of any order row and the order of any entry. The
accounts worker records each place it accepts as a hold, and stores each one
it rejects as a REJECTED order; the matching worker stores the order row of
every accepted place. Each worker's stream offset (and the last group it
applied from each producer) says how far it has committed, so a missing row
is a loss only when the worker that writes it has committed past its cause:
before that it is in flight.

Not visible to the audit: a place trimmed from its stream before the
accounts worker committed it cannot be (trimming follows the commit), but a
place whose entry Redis itself lost (a crash inside AOF's fsync window)
leaves no trace anywhere; and with trimmed streams only the retained tail of
each stream is compared with the rows.
"""

from __future__ import annotations

import itertools

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from exchange.ids import EPOCH_MS
from exchange.models import Order, OrderHold, OrderStatus
from exchange.pipeline.ids import SEQUENCE_BITS, SHARD_BITS, accepted_ms_of, parse_entry_id
from exchange.pipeline.keys import accounts_keys
from exchange.services.audit.report import CheckResult
from exchange.services.audit.streams import AcknowledgedPlace, StreamContents

CHUNK = 1000


def entry_of(order_id: int) -> tuple[int, str]:
    """(accounts shard, entry id) of the place command an order id was derived from."""
    shard = order_id & ((1 << SHARD_BITS) - 1)
    sequence = (order_id >> SHARD_BITS) & ((1 << SEQUENCE_BITS) - 1)
    millis = (order_id >> (SHARD_BITS + SEQUENCE_BITS)) + EPOCH_MS
    return shard, f"{millis}-{sequence}"


def orders_stored_once(
    offsets: dict[str, tuple[str, dict[str, str]]],
    market_shards: dict[str, int],
    streams: StreamContents,
) -> CheckResult:
    """Duplicates, and rows missing once the worker that writes them committed past their cause.

    offsets: consumer -> (last committed entry, last group applied per
    producer); market_shards: symbol -> matching shard.
    """
    result = CheckResult(
        "orders stored once",
        {
            "orders": Order.objects.count(),
            "holds": OrderHold.objects.count(),
            "places in streams": len(streams.committed_places) + streams.pending_places,
        },
        in_flight=streams.pending_places,
    )
    _duplicate_client_ids(result)
    _holds_without_orders(result, offsets, market_shards)
    _orders_without_holds(result, offsets)
    _places_without_rows(result, streams)
    return result


def _duplicate_client_ids(result: CheckResult) -> None:
    """A client order id names one order at a time (docs/adr/0015): across the orders and across
    the holds, each place of an id came a window after the one before, and after that one ended.
    A hold and its order row agree on the user and the id."""
    window_ms = settings.CLIENT_ORDER_ID_WINDOW_S * 1000
    for table, model in (("orders", Order), ("holds", OrderHold)):
        reused = (
            model.objects.order_by()
            .values("user_id", "client_order_id")
            .annotate(copies=Count("pk"))
            .filter(copies__gt=1)
            .values_list("user_id", "client_order_id")
        )
        for user_id, client_order_id in reused:
            ids = sorted(
                model.objects.filter(user_id=user_id, client_order_id=client_order_id).values_list(
                    "pk", flat=True
                )
            )
            holds = {
                hold.order_id: hold
                for hold in OrderHold.objects.filter(order_id__in=ids).only("is_open", "updated_at")
            }
            for before, after in itertools.pairwise(ids):
                name = f"user {user_id} client order id {client_order_id!r}: {table} {before} and {after}"
                gap_ms = accepted_ms_of(after) - accepted_ms_of(before)
                if gap_ms < window_ms:
                    result.fail(f"{name} placed {gap_ms} ms apart, within the {window_ms // 1000} s window")
                hold = holds.get(before)
                if hold is not None and (
                    hold.is_open or hold.updated_at.timestamp() * 1000 > accepted_ms_of(after)
                ):
                    result.fail(f"{name}: the second placed while the first was open")
    own_order = Order.objects.filter(pk=OuterRef("order_id")).exclude(
        user_id=OuterRef("user_id"), client_order_id=OuterRef("client_order_id")
    )
    twice = OrderHold.objects.filter(Exists(own_order)).order_by("order_id")
    for order_id, user_id, client_order_id in twice.values_list("order_id", "user_id", "client_order_id"):
        stored = Order.objects.filter(pk=order_id).values_list("pk", "user_id", "client_order_id")
        rows = ", ".join(f"order {pk} of user {user} as {cid!r}" for pk, user, cid in stored)
        result.fail(f"hold of order {order_id} (user {user_id}, {client_order_id!r}) disagrees with {rows}")


def _holds_without_orders(
    result: CheckResult, offsets: dict[str, tuple[str, dict[str, str]]], market_shards: dict[str, int]
) -> None:
    """An accepted place is forwarded to matching; once matching committed past it, its row must exist."""
    missing = OrderHold.objects.filter(~Exists(Order.objects.filter(pk=OuterRef("order_id")))).order_by(
        "order_id"
    )
    for order_id, user_id, symbol in missing.values_list("order_id", "user_id", "market_symbol"):
        shard, entry_id = entry_of(order_id)
        matching = f"matching-{market_shards.get(symbol, -1)}"
        # Producers are named by their keys' tag (exchange/pipeline/worker.py).
        applied = offsets.get(matching, ("0-0", {}))[1].get(accounts_keys(shard).tag, "0-0")
        if parse_entry_id(applied) < parse_entry_id(entry_id):
            result.in_flight += 1
            continue
        result.fail(
            f"order {order_id} of user {user_id} in {symbol}: held by accounts-{shard} (entry {entry_id}),"
            f" {matching} applied its entries up to {applied}, no order row"
        )


def _orders_without_holds(result: CheckResult, offsets: dict[str, tuple[str, dict[str, str]]]) -> None:
    """An order matching stored came from a hold: once accounts committed its place, the hold exists."""
    missing = (
        # The accounts worker stores the orders it rejects itself, with no hold.
        Order.objects.exclude(status=OrderStatus.REJECTED)
        .filter(~Exists(OrderHold.objects.filter(order_id=OuterRef("pk"))))
        .order_by("pk")
    )
    for order_id, user_id, status in missing.values_list("pk", "user_id", "status"):
        shard, entry_id = entry_of(order_id)
        committed = offsets.get(f"accounts-{shard}", ("0-0", {}))[0]
        if parse_entry_id(committed) < parse_entry_id(entry_id):
            result.in_flight += 1
            continue
        result.fail(
            f"order {order_id} of user {user_id} ({status}): accounts-{shard} committed {committed},"
            f" past its place {entry_id}, and holds no funds for it"
        )


def _places_without_rows(result: CheckResult, streams: StreamContents) -> None:
    """Each place accounts committed left a hold or an order, unless refused as malformed or a duplicate."""
    places = [p for p in streams.committed_places if (p.shard, p.entry_id) not in streams.dead_letters]
    for start in range(0, len(places), CHUNK):
        chunk = places[start : start + CHUNK]
        ids = [place.order_id for place in chunk]
        stored = set(OrderHold.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
        stored |= set(Order.objects.filter(pk__in=ids).values_list("pk", flat=True))
        for place in chunk:
            if place.order_id not in stored and not _is_duplicate(place):
                result.fail(
                    f"place {place.entry_id} on accounts-{place.shard} (order {place.order_id}, user"
                    f" {place.user_id}, {place.client_order_id!r}) was committed, left no hold nor order"
                )


def _is_duplicate(place: AcknowledgedPlace) -> bool:
    """A place reusing a client order id is refused and leaves no row; the earlier order stands."""
    same = Q(user_id=place.user_id, client_order_id=place.client_order_id, pk__lt=place.order_id)
    return Order.objects.filter(same).exists() or OrderHold.objects.filter(same).exists()


def _ids(ids: list[int]) -> str:
    return ", ".join(str(pk) for pk in ids)
