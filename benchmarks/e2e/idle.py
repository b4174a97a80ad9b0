"""The stack at rest: what every process spends while no order arrives.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_e2e REDIS_URL=redis://127.0.0.1:6379/0 \\
        python -m benchmarks.e2e.idle [--seconds 30] [--pairs 10]

Starts the stack as the end-to-end benchmark does (benchmarks.e2e.run: the
same processes, database, key prefix and traders, each trader's WebSocket
open and subscribed), lets it settle, then counts for `--seconds` each
process's CPU and wake-ups (voluntary context switches) a second, and the
threads that wake most. At a few hundred orders a second this background
is a large part of the CPU an order (docs/BENCHMARKS.md, *Wake-ups*).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

from benchmarks.e2e.run import Listener, deposit, drop_keys, grouped_cpu, prepare_traders, stack_env
from benchmarks.stack import Stack, process_times, service_pids, wakeups_between

SETTLE_S = 5.0


def thread_wakeups(roots: dict[str, int]) -> dict[tuple[str, str, int], int]:
    """Voluntary context switches of every live thread of each named process tree, by (process, name, id)."""
    parents, _ = process_times()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    counted: dict[tuple[str, str, int], int] = {}
    for name, root in roots.items():
        frontier = [root]
        while frontier:
            pid = frontier.pop()
            frontier.extend(children.get(pid, ()))
            with contextlib.suppress(OSError):
                for task in (Path("/proc") / str(pid) / "task").iterdir():
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        thread = (task / "comm").read_text().strip()
                        status = (task / "status").read_text()
                        switches = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
                        counted[(name, thread, int(task.name))] = switches
    return counted


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--pairs", type=int, default=10, help="trader pairs (each trader has a WebSocket open)"
    )
    options = parser.parse_args()
    work, traders, traders_file = prepare_traders(options.pairs, "spot-e2e-idle-")
    env = stack_env()
    stack = Stack(env, work / "logs")
    try:
        stack.start()
        stack.wait_ready()
        deposit(traders)
        listener = Listener(traders_file, stack.web_port, env, work)
        try:
            time.sleep(SETTLE_S)
            roots = {**stack.pids(), **service_pids()}
            cpu_before, woken_before = stack.cpu_seconds(), stack.wakeups()
            threads_before = thread_wakeups(roots)
            started = time.monotonic()
            time.sleep(options.seconds)
            elapsed = time.monotonic() - started
            cpu_after, woken_after = stack.cpu_seconds(), stack.wakeups()
            threads_after = thread_wakeups(roots)
        finally:
            listener.stop()
    finally:
        stack.stop()
        drop_keys()
    cpu = grouped_cpu({k: cpu_after[k] - cpu_before[k] for k in cpu_after if k in cpu_before})
    woken = grouped_cpu({k: float(v) for k, v in wakeups_between(woken_before, woken_after).items()})
    print(
        f"\n# the stack at rest, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {elapsed:.0f} s\n"
    )
    print("| process | CPU ms a second | wake-ups a second |")
    print("|---|---|---|")
    for name in sorted(cpu):
        print(f"| {name} | {cpu[name] / elapsed * 1000:,.1f} | {woken.get(name, 0) / elapsed:,.1f} |")
    print(
        f"| **stack** | **{sum(cpu.values()) / elapsed * 1000:,.1f}** "
        f"| **{sum(woken.values()) / elapsed:,.1f}** |"
    )
    by_thread: dict[tuple[str, str], int] = {}
    for (process, thread, tid), count in threads_after.items():
        key = (process, thread)
        by_thread[key] = by_thread.get(key, 0) + count - threads_before.get((process, thread, tid), 0)
    print("\nThe threads that wake most (process, thread name: wake-ups a second):\n")
    for (process, thread), count in sorted(by_thread.items(), key=lambda kv: -kv[1])[:15]:
        if count:
            print(f"- {process}, {thread}: {count / elapsed:,.1f}")
    print(f"\nlogs: {work}")


if __name__ == "__main__":
    main()
