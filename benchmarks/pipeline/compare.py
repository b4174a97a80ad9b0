"""The pipeline benchmark at another commit and at this tree, run in turn: ratios from one window.

    DATABASE_URL=mysql://root@127.0.0.1:3306/spot_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        python -m benchmarks.pipeline.compare --against b45c8d1 [--rounds 3]
        [--sustain 10000 --sustain-seconds 20]      # fed by a producer instead of the drain
        [--stages]                                  # the stage benchmark instead

The machine is shared: its speed moved by ±15 % over an hour (the same
commit's drain measured 144-162 us an order at different hours), so a
figure from another hour says little, and two trees measured in turn say
how they compare. The other commit is checked out as a git worktree under
var/compare/ (kept for the next comparison; `git worktree prune` after
removing it). Prints a line per run, then the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worktree(commit: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = ROOT / "var" / "compare" / sha[:12]
    if not (path / "manage.py").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT, check=True)
    return path


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def measure(tree: Path, options: argparse.Namespace) -> tuple[float, float, str]:
    """(orders/s, µs an order, what else to print) of one run in `tree`."""
    if options.stages:
        command = ["-m", "benchmarks.pipeline.stages", "--repeat", "3"]
    elif options.sustain:
        command = ["-m", "benchmarks.pipeline.throughput", "--sustain", str(options.sustain)]
        command += ["--sustain-seconds", str(options.sustain_seconds)]
        command += ["--skip", "throughput", "two-shards", "latency", "baseline"]
    else:
        command = ["-m", "benchmarks.pipeline.throughput", "--orders", str(options.orders)]
        command += ["--skip", "two-shards", "sustained", "latency", "baseline"]
    out = subprocess.run(
        [sys.executable, *command], cwd=tree, env=os.environ, check=True, capture_output=True, text=True
    ).stdout
    rows = [line for line in out.splitlines() if line.startswith("|") and not line.startswith("|---")]
    if options.stages:
        total = number(cells(rows[-1])[-1])
        return 0.0, total, " ".join(cells(rows[-1]))
    if options.sustain:
        row = cells(rows[-1])
        return number(row[2]), number(row[-1]), f"backlog {row[4]}, drained in {row[3]} s"
    drain = next(cells(line) for line in rows if line.startswith("| 1 accounts shard, 1 matching"))
    cpu = next(cells(line) for line in rows if line.startswith("| |"))
    return number(drain[3]), number(cpu[-1]), ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", required=True, help="the commit to compare this tree with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--sustain", type=int, help="offered orders/s of a producer-fed run instead")
    parser.add_argument("--sustain-seconds", type=float, default=20)
    parser.add_argument("--stages", action="store_true", help="the stage benchmark instead")
    options = parser.parse_args()
    trees = {options.against: worktree(options.against), "this tree": ROOT}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    print(f"# {'stage benchmark' if options.stages else 'pipeline benchmark'}: {' against '.join(trees)}\n")
    print("| round | tree | orders/s | µs an order | |")
    print("|---|---|---|---|---|")
    for round_ in range(1, options.rounds + 1):
        for name, tree in trees.items():
            rate, cost, note = measure(tree, options)
            results[name].append((rate, cost))
            shown = f"{rate:,.0f}" if rate else "-"
            print(f"| {round_} | {name} | {shown} | {cost:.1f} | {note} |", flush=True)
    before, after = (statistics.median(cost for _, cost in results[name]) for name in trees)
    print(
        f"\nmedian µs an order: {before:.1f} at {options.against}, {after:.1f} here ({after / before:.2f}x)"
    )


if __name__ == "__main__":
    main()
