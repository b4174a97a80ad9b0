"""The stages' own CPU per order, without Redis or a database: what the Python costs.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_bench python -m benchmarks.pipeline.stages [--orders 40000]

Feeds the pipeline benchmark's orders (limit orders around a mid, about
0.73 trades per order) through an accounts stage and a matching stage in
one process, batch by batch as the workers would (500 entries a read):
accounts places, matching matches, accounts settles. Each stage's write
buffer is rendered to SQL at every batch as the workers do when they hand
it over (DATABASE_URL picks the dialect; nothing connects), and each
outbox is turned into the commands a worker would send. Prints µs per
order of each step, best of --repeat runs (the machine is shared: the
minimum is the least disturbed).
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from decimal import Decimal
from typing import Any

BATCH = 500


def setup_django() -> None:
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-0123456789abcdefghij")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    import django

    django.setup()


def rules(market_id: int, symbol: str, base_id: int, shard: int) -> Any:
    from exchange.pipeline.markets import MarketRules

    return MarketRules(
        market_id=market_id,
        symbol=symbol,
        base=symbol.split("/")[0],
        quote="USDT",
        base_asset_id=base_id,
        quote_asset_id=1,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        min_notional=Decimal("1"),
        maker_fee_rate=Decimal("0.001"),
        taker_fee_rate=Decimal("0.001"),
        trading=True,
        shard=shard,
    )


def run(count: int) -> dict[str, float]:
    from benchmarks.pipeline.throughput import orders
    from exchange.pipeline.accounts_stage import AccountsStage, AccountsState
    from exchange.pipeline.client_order_ids import RecentClientOrderIds
    from exchange.pipeline.keys import accounts_keys, matching_keys
    from exchange.pipeline.matching_stage import MatchingStage
    from exchange.pipeline.messages import decode, dumps
    from exchange.pipeline.order_entry import PlaceRequest
    from exchange.pipeline.outbox import Outbox, user_feed
    from matching.book import OrderBook
    from persistence.offsets import CommittedPosition
    from persistence.write_buffer import WriteBuffer

    users = list(range(2, 22))
    markets = {"BTC/USDT": rules(1, "BTC/USDT", 2, 1)}
    balances = {}
    for user in [*users, 1]:
        for asset, amount in (("USDT", "100000000"), ("BTC", "100000")):
            balances[(user, asset)] = [Decimal(amount), Decimal(0)]
    state = AccountsState(balances, {}, RecentClientOrderIds(1000), set(users) | {1}, {"USDT": 1, "BTC": 2})
    accounts_out, matching_out = Outbox("a0"), Outbox("m1")

    def buffer(name: str) -> WriteBuffer:
        return WriteBuffer(name, "in", CommittedPosition("0-0", 1, {}, {}), max_items=10**9)

    accounts_buffer, matching_buffer = buffer("accounts-0"), buffer("matching-1")
    settlements_stream = accounts_keys(0, "b").stream
    accounts = AccountsStage(
        0, markets, state, accounts_buffer, accounts_out, {1: matching_keys(1, "b")}, "b"
    )
    matching = MatchingStage(
        1,
        markets,
        {"BTC/USDT": OrderBook(1)},
        {},
        matching_buffer,
        matching_out,
        {user: settlements_stream for user in [*users, 1]}.__getitem__,  # looked up once, as the workers do
        1,
        matching_keys(1, "b"),
        "b",
    )
    places: list[dict[bytes, bytes]] = [
        {b"d": dumps(PlaceRequest(**fields).message())} for fields in orders(count, users, ["BTC/USDT"])
    ]
    spent = {
        "accounts: place": 0.0,
        "matching": 0.0,
        "accounts: settle": 0.0,
        "render SQL": 0.0,
        "outputs": 0.0,
    }
    clock = time.perf_counter
    millis = 1_780_000_000_000

    def apply(name: str, stage: Any, outbox: Outbox, entries: list[tuple[str, dict[bytes, bytes]]]) -> None:
        started = clock()
        for entry_id, fields in entries:
            outbox.begin(entry_id)
            stage.handle(entry_id, decode(fields))
            outbox.end()
        spent[name] += clock() - started

    def render(buffer: WriteBuffer) -> None:
        started = clock()
        buffer.detach()
        spent["render SQL"] += clock() - started

    def send(outbox: Outbox) -> list[dict[bytes, bytes]]:
        """What a worker would send: the encoded entries and the user feeds; returns the batch entries."""
        started = clock()
        entries = outbox.entries()
        user_feed(outbox.publications)
        outbox.drain()
        spent["outputs"] += clock() - started
        texts = [fields["d"] for _, fields in entries if "d" in fields]
        return [{b"d": text if isinstance(text, bytes) else text.encode()} for text in texts]

    def market_feed(stage: Any) -> int:
        """The batch's market events encoded as the matching worker does (depth levels aside); its trades."""
        started = clock()
        stage.depth_changes.clear()
        texts = [dumps(event) for event in stage.market_events]
        spent["outputs"] += clock() - started
        trades = sum(1 for event in stage.market_events if event["type"] == "trade")
        stage.market_events.clear()
        del texts
        return trades

    trades = 0
    settlements: list[dict[bytes, bytes]] = []
    for start in range(0, len(places), BATCH):
        millis += 1
        entries = [(f"{millis}-{n}", fields) for n, fields in enumerate(places[start : start + BATCH])]
        apply("accounts: place", accounts, accounts_out, entries)
        settling = [(f"{millis}-{BATCH + n}", fields) for n, fields in enumerate(settlements)]
        apply("accounts: settle", accounts, accounts_out, settling)
        render(accounts_buffer)
        forwarded = send(accounts_out)
        millis += 1
        apply("matching", matching, matching_out, [(f"{millis}-{n}", f) for n, f in enumerate(forwarded)])
        trades += market_feed(matching)
        render(matching_buffer)
        settlements = send(matching_out)
    assert trades > count // 2, f"only {trades} trades: the orders did not cross"
    return {name: seconds * 1e6 / count for name, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's thresholds as they are (the workers set them)",
    )
    options = parser.parse_args()
    setup_django()
    gc.set_threshold(50_000, 20, 100)  # as the workers run
    if not options.default_allocator:
        from exchange.pipeline.allocator import keep_large_blocks_on_heap

        keep_large_blocks_on_heap()  # as the workers do
    best: dict[str, float] = {}
    for _ in range(options.repeat):
        for name, value in run(options.orders).items():
            best[name] = min(best.get(name, value), value)
    from django.db import connection

    print(
        f"# stage CPU per order ({connection.vendor} SQL), {options.orders:,} orders, best of {options.repeat}\n"
    )
    print("| " + " | ".join(best) + " | total |")
    print("|" + "---|" * (len(best) + 1))
    print("| " + " | ".join(f"{value:.1f}" for value in best.values()) + f" | {sum(best.values()):.1f} |")


if __name__ == "__main__":
    main()
