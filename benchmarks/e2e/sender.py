"""Offers crossing orders over signed REST at a fixed rate, as a process of its own.

    python -m benchmarks.e2e.sender TRADERS_JSON PORT SYMBOL PRICE QUANTITY RATE SECONDS OUT

Orders go out in pairs from two different traders, a sell then a buy of the
same quantity at the same price, both GTC limits: whichever arrives first
rests and the other fills it, so every order ends filled and the book stays
empty. The schedule is open-loop: order i is due at start + i / RATE,
whatever the answers before it; when every connection is busy an order
waits for one, and that wait counts in its REST latency (measured from when
it was due). Each line of OUT is one order: its client order id, the time it
was due and sent (Unix ns), the time of the answer, the HTTP status and the
order id answered. Lines are written as answers come, so an hour's soak
holds no more in memory than the orders in flight.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from benchmarks.e2e.client import HttpConnection, Trader, run_client

CONNECTIONS = 32


async def offer(
    traders: list[Trader],
    port: int,
    symbol: str,
    price: str,
    quantity: str,
    rate: float,
    seconds: float,
    tag: str,
    out: TextIO,
) -> None:
    total = int(rate * seconds)
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(HttpConnection("127.0.0.1", port))
    pairs = len(traders) // 2

    def record(*fields: object) -> None:
        out.write(json.dumps(fields) + "\n")

    async def place(i: int, due_ns: int) -> None:
        pair = (i // 2) % pairs
        trader = traders[2 * pair + (i % 2)]
        client_order_id = f"{tag}-{i}"
        body = json.dumps(
            {
                "market": symbol,
                "side": "SELL" if i % 2 == 0 else "BUY",
                "type": "LIMIT",
                "price": price,
                "quantity": quantity,
                "client_order_id": client_order_id,
            },
            separators=(",", ":"),
        ).encode()
        connection = await pool.get()
        sent_ns = time.time_ns()
        try:
            status, content = await connection.request(trader, "POST", "/api/v1/orders", body)
        except (OSError, asyncio.IncompleteReadError) as error:
            record(client_order_id, due_ns, sent_ns, time.time_ns(), 0, None, str(error))
            return
        finally:
            pool.put_nowait(connection)
        answered_ns = time.time_ns()
        order_id = json.loads(content).get("order_id") if status in (200, 201, 202) else None
        note = None if order_id is not None else content[:200].decode(errors="replace")
        record(client_order_id, due_ns, sent_ns, answered_ns, status, order_id, note)

    in_flight: set[asyncio.Task[None]] = set()
    start_ns = time.time_ns() + 50_000_000
    interval_ns = 1e9 / rate
    for i in range(total):
        due_ns = start_ns + int(i * interval_ns)
        delay = (due_ns - time.time_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(place(i, due_ns))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)


def main() -> None:
    traders_file, port, symbol, price, quantity, rate, seconds, out = sys.argv[1:9]
    # The load generator's own collector pauses would be timed as the exchange's latency: its
    # growing record of every order made full collections ever longer. Its run is bounded.
    gc.disable()
    traders = [Trader.from_json(t) for t in json.loads(Path(traders_file).read_text())]
    tag = f"e2e{int(float(rate))}x{time.time_ns() % 10**9}"
    with open(out, "w") as lines:
        run_client(
            offer(traders, int(port), symbol, price, quantity, float(rate), float(seconds), tag, lines)
        )


if __name__ == "__main__":
    main()
