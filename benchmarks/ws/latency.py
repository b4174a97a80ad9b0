"""Latency from a trade's publication by the matching worker to its receipt by WebSocket clients.

    python -m spot.embedded_redis -- python -m benchmarks.ws.latency [--seconds 10] [--rate 1000] [--subscribers 100]

The target (issue 6): p99 < 10 ms at 1,000 trades/s with 100 subscribers.
The publisher XADDs each trade, on schedule, to the shard's events stream as
the matching worker does and stamps it with the wall clock just before; the
clock is read again when a sampled subscriber (10, spread over the
subscription order, including the last one served) has read the message.
The interval covers the XADD, the daphne process's XREAD, the fan-out, the
loopback TCP and the client's read. One row per server write path (direct
socket writes, the default, and the ASGI send path).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.ws.harness import Publisher, Server, Subscribers, percentile_ms, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--paths", default="direct,asgi")
    args = parser.parse_args()
    env = setup()
    print(
        f"{'path':>9} {'subs':>5} {'trades/s':>9} {'trades timed':>12} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} {'trades/msg':>10} {'daphne CPU':>10}"
    )
    for path in args.paths.split(","):
        with Server(env, WS_DIRECT_WRITE="1" if path == "direct" else "0") as server:
            clients = Subscribers(server.port, args.subscribers)
            publisher = Publisher()
            try:
                publisher.publish(1)
                time.sleep(0.3)
                cpu = server.cpu_seconds()
                sent, elapsed = publisher.paced(args.rate, args.seconds)
                cpu = server.cpu_seconds() - cpu
                time.sleep(0.5)
                result = clients.finish()
            finally:
                publisher.close()
        histogram = result["histogram"]
        timed = sum(histogram.values())
        print(
            f"{path:>9} {args.subscribers:>5} {sent / elapsed:>9,.0f} {timed:>12,} "
            f"{percentile_ms(histogram, 0.5):>7.2f} {percentile_ms(histogram, 0.9):>7.2f} "
            f"{percentile_ms(histogram, 0.99):>7.2f} {percentile_ms(histogram, 0.999):>8.2f} "
            f"{max(histogram) * 0.02 + 0.02:>7.2f} {result['events'] / max(1, result['frames']):>10.1f} "
            f"{cpu / elapsed:>10.0%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
