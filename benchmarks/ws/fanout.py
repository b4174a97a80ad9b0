"""Fan-out: trades of one market to 100 and 1,000 subscribers of one daphne process, at rising rates.

    python -m spot.embedded_redis -- python -m benchmarks.ws.fanout [--seconds 4] [--subscribers 100,1000]

(or with REDIS_URL set; DATABASE_URL defaults to a fresh SQLite file.) The
publisher writes trades into the shard's events stream on a schedule (one
XADD per trade, as a matching worker's batch of one), the subscribers (two
processes of minimal clients) count what arrives and when. For each
subscriber count it steps the rate up until delivery falls behind, and
prints per step: trades offered per second, WebSocket messages delivered
per second (summed over subscribers), trades delivered per second, trades
per message (the reader puts the trades of one read in one message), the
share of trades delivered, latency from publish to receipt (p50/p99),
daphne's CPU and the clients' CPU, and clients disconnected as slow. The
server, the publisher and the clients share the machine's two cores: the
figures are a floor for the server, and best read as ratios.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from benchmarks.ws.harness import Publisher, Server, Subscribers, percentile_ms, setup

HEADER = (
    f"{'subs':>5} {'path':>9} {'trades/s in':>11} {'msgs/s out':>11} {'trades/s out':>13} {'trades/msg':>10} "
    f"{'delivered':>9} {'p50 ms':>7} {'p99 ms':>7} {'daphne CPU':>10} {'clients CPU':>11} {'dropped':>7}"
)


def step(env: dict[str, str], subscribers: int, rate: float, seconds: float, direct: bool) -> dict[str, Any]:
    with Server(env, WS_DIRECT_WRITE="1" if direct else "0") as server:
        clients = Subscribers(server.port, subscribers)
        publisher = Publisher()
        try:
            publisher.publish(1)
            time.sleep(0.3)
            cpu, client_cpu = server.cpu_seconds(), clients.cpu_seconds()
            sent, elapsed = publisher.paced(rate, seconds)
            cpu, client_cpu = server.cpu_seconds() - cpu, clients.cpu_seconds() - client_cpu
            time.sleep(0.5)
            result = clients.finish()
        finally:
            publisher.close()
    sampled = result["sampled"]
    return {
        "rate": sent / elapsed,
        # Every subscriber gets the same messages; the sampled ones were read, the others' bytes counted.
        "messages": result["frames"] / sampled * subscribers / elapsed,
        "trades": result["events"] / sampled * subscribers / elapsed,
        "per_message": result["events"] / max(1, result["frames"]),
        "delivered": min(
            result["events"] / max(1, (sent + 1) * sampled), result["bytes_min"] / result["bytes_max"]
        ),
        "p50": percentile_ms(result["histogram"], 0.50),
        "p99": percentile_ms(result["histogram"], 0.99),
        "cpu": cpu / elapsed,
        "client_cpu": client_cpu / elapsed,
        "dropped": result["closed"],
    }


def row(subscribers: int, direct: bool, r: dict[str, Any]) -> str:
    return (
        f"{subscribers:>5} {'direct' if direct else 'ASGI':>9} {r['rate']:>11,.0f} {r['messages']:>11,.0f} "
        f"{r['trades']:>13,.0f} {r['per_message']:>10.1f} {r['delivered']:>9.1%} {r['p50']:>7.2f} "
        f"{r['p99']:>7.2f} {r['cpu']:>10.0%} {r['client_cpu']:>11.0%} {r['dropped']:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--rates", default="250,1000,4000,16000")
    parser.add_argument("--paths", default="direct,asgi")
    args = parser.parse_args()
    env = setup()
    print(HEADER, flush=True)
    for subscribers in (int(n) for n in args.subscribers.split(",")):
        for path in args.paths.split(","):
            for rate in (float(r) for r in args.rates.split(",")):
                r = step(env, subscribers, rate, args.seconds, path == "direct")
                print(row(subscribers, path == "direct", r), flush=True)
                if r["delivered"] < 0.99 or r["dropped"]:
                    break


if __name__ == "__main__":
    main()
