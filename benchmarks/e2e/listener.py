"""Follows every trader's private channel and the market's public trades, as a process of its own.

    python -m benchmarks.e2e.listener TRADERS_JSON PORT SYMBOL SPOOL

One WebSocket a trader (logged in with its own key, subscribed to
`private`) and one more subscribed to `trades:SYMBOL`. It prints "ready"
once all are subscribed, then reads commands on its standard input:
`dump PATH` moves what arrived since the last dump to PATH (one JSON line
each: ["fill", order id, client order id, trade id, role, received ns] or
["trade", trade id, received ns]); `quit` ends it. Lines go to the file
SPOOL as they arrive, so a long soak keeps nothing in memory. Frames it
does not time are counted, not parsed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.e2e.client import Trader, run_client

MAX_FRAME = 16 * 1024 * 1024


class Records:
    """What arrived since the last dump, in the spool file as it arrives."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.file = spool.open("w")
        self.count = 0
        self.other_frames = 0

    def add(self, line: list[Any]) -> None:
        self.file.write(json.dumps(line) + "\n")
        self.count += 1

    def move_to(self, path: Path) -> int:
        """Everything since the last dump, moved to `path`; returns how many lines."""
        self.file.close()
        self.spool.replace(path)
        count, self.count = self.count, 0
        self.file = self.spool.open("w")
        return count


async def follow_private(trader: Trader, url: str, records: Records, ready: asyncio.Queue[str]) -> None:
    async with connect(url, max_size=MAX_FRAME, compression=None) as ws:
        await ws.send(json.dumps(trader.ws_login()))
        await expect(ws, "authenticated")
        await ws.send(json.dumps({"op": "subscribe", "channels": ["private"]}))
        await expect(ws, "subscribed")
        ready.put_nowait("private")
        async for text in ws:
            received = time.time_ns()
            if '"fill"' not in text:
                records.other_frames += 1
                continue
            frame = json.loads(text)
            events = frame["data"] if isinstance(frame.get("data"), list) else [frame.get("data")]
            for event in events:
                if isinstance(event, dict) and event.get("type", frame.get("type")) == "fill":
                    records.add(
                        [
                            "fill",
                            str(event["order_id"]),
                            event.get("client_order_id"),
                            str(event["trade_id"]),
                            event.get("role"),
                            received,
                        ]
                    )


async def follow_trades(symbol: str, url: str, records: Records, ready: asyncio.Queue[str]) -> None:
    async with connect(url, max_size=MAX_FRAME, compression=None) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": [f"trades:{symbol}"]}))
        await expect(ws, "subscribed")
        ready.put_nowait("trades")
        async for text in ws:
            received = time.time_ns()
            frame = json.loads(text)
            if frame.get("channel") != f"trades:{symbol}":
                records.other_frames += 1
                continue
            data = frame.get("data")
            for event in data if isinstance(data, list) else [data]:
                if isinstance(event, dict) and "trade_id" in event:
                    records.add(["trade", str(event["trade_id"]), received])


async def expect(ws: ClientConnection, kind: str) -> None:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == kind:
            return
        if frame.get("type") == "error":
            raise SystemExit(f"listener: {frame}")


async def run(traders: list[Trader], port: int, symbol: str, spool: Path) -> None:
    url = f"ws://127.0.0.1:{port}/ws/"
    records = Records(spool)
    ready: asyncio.Queue[str] = asyncio.Queue()
    tasks = [asyncio.create_task(follow_private(t, url, records, ready)) for t in traders]
    tasks.append(asyncio.create_task(follow_trades(symbol, url, records, ready)))
    for _ in tasks:
        waiting = asyncio.create_task(ready.get())
        done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiting:
                task.result()  # a follower that ended at start: its error
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        command, _, argument = line.partition(" ")
        if command == "dump":
            count = records.move_to(Path(argument))
            print(f"dumped {count} {records.other_frames}", flush=True)
        elif command in ("quit", ""):
            break
    for task in tasks:
        task.cancel()


def main() -> None:
    traders_file, port, symbol, spool = sys.argv[1:5]
    # The load generator's own collector pauses would be timed as the exchange's latency: its
    # growing record of every order made full collections ever longer. Its run is bounded.
    gc.disable()
    traders = [Trader.from_json(t) for t in json.loads(Path(traders_file).read_text())]
    run_client(run(traders, int(port), symbol, Path(spool)))


if __name__ == "__main__":
    main()
