"""Every process of the exchange, started as `make run` starts them, for the benchmarks that need the whole stack.

`make run` runs the Procfile's lines (daphne for the admin and WebSockets,
granian for the order API) and one worker per shard from `manage.py
worker_procfile`. `Stack` starts the same command lines, each in a process
group of its own with its output in a log file, waits until the servers
answer and every worker holds its lease, reads each one's CPU time from
/proc, and stops them all with SIGTERM (the workers finish their batch).

The local MariaDB and Redis servers are not started here; their CPU is read
too when they run on this machine (`service_pids`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free ports (the workers' metrics ports are numbered from a base)."""
    for base in range(20_000, 60_000, 97):
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise SystemExit(f"no {count} consecutive free ports")


def process_times() -> tuple[dict[int, int], dict[int, float]]:
    """Every process's parent and its user + system CPU seconds so far (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return parents, times


def tree_cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """For each named root process: the CPU seconds of it and its live descendants."""
    parents, times = process_times()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    spent = {}
    for name, root in roots.items():
        total, frontier = 0.0, [root]
        while frontier:
            pid = frontier.pop()
            total += times.get(pid, 0.0)
            frontier.extend(children.get(pid, ()))
        spent[name] = total
    return spent


def tree_wakeups(roots: dict[str, int]) -> dict[str, dict[int, int]]:
    """For each named root process: each live thread's voluntary context switches, by thread id.

    A thread switches voluntarily when it blocks (a read with nothing to
    read, a lock, a sleep) and is woken later: on a virtual machine each
    wake-up costs tens of µs of CPU however little work it brings, so
    wake-ups an order explain much of a process's CPU an order at modest
    rates (docs/BENCHMARKS.md, *Wake-ups*). Count between two samples with
    `wakeups_between`.
    """
    parents, _ = process_times()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    counted: dict[str, dict[int, int]] = {}
    for name, root in roots.items():
        threads: dict[int, int] = {}
        frontier = [root]
        while frontier:
            pid = frontier.pop()
            threads.update(_voluntary_switches(pid))
            frontier.extend(children.get(pid, ()))
        counted[name] = threads
    return counted


def wakeups_between(before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]) -> dict[str, int]:
    """Wake-ups of each process between two samples: its threads' growth (a thread that ended meanwhile is lost)."""
    return {
        name: sum(count - before[name].get(tid, 0) for tid, count in threads.items())
        for name, threads in after.items()
        if name in before
    }


def _voluntary_switches(pid: int) -> dict[int, int]:
    threads = {}
    with contextlib.suppress(OSError):  # gone meanwhile
        for task in (Path("/proc") / str(pid) / "task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        threads[int(task.name)] = int(line.split()[1])
    return threads


def tree_rss_bytes(roots: dict[str, int]) -> dict[str, int]:
    """For each named root process: the resident memory of it and its live descendants (Linux /proc)."""
    parents, _ = process_times()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    page = os.sysconf("SC_PAGE_SIZE")
    resident = {}
    for name, root in roots.items():
        total, frontier = 0, [root]
        while frontier:
            pid = frontier.pop()
            with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
                total += int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * page
            frontier.extend(children.get(pid, ()))
        resident[name] = total
    return resident


def service_pids() -> dict[str, int]:
    """The local MariaDB and Redis servers, when they run on this machine."""
    found = {}
    for name, pattern in (("mariadb", "mariadbd|mysqld"), ("redis", "redis-server")):
        out = subprocess.run(["pgrep", "-o", "-x", pattern], capture_output=True, text=True).stdout.split()
        if out:
            found[name] = int(out[0])
    return found


def create_database() -> None:
    """The configured MySQL/MariaDB database, made when missing (Django is set up; SQLite makes its own)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.mysql":
        return
    import MySQLdb  # type: ignore[import-untyped]

    connection = MySQLdb.connect(
        host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"]
    )
    try:
        connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{db['NAME']}`")
    finally:
        connection.close()


def procfile_lines(env: dict[str, str], metrics_base_port: int) -> list[tuple[str, str]]:
    """(name, command) of every process `make run` starts under this environment."""
    workers = subprocess.run(
        ["python", "manage.py", "worker_procfile", "--metrics-base-port", str(metrics_base_port)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = []
    for line in [*(ROOT / "Procfile").read_text().splitlines(), *workers.splitlines()]:
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            lines.append((name.strip(), _expand(command.strip(), env)))
    return lines


def _expand(command: str, env: dict[str, str]) -> str:
    return _DEFAULT.sub(lambda m: env.get(m.group(1)) or m.group(2), command)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_children_on_sigterm() -> None:
    """Make SIGTERM (a `kill`, a CI timeout) run the caller's `finally` blocks, as Ctrl-C does.

    The stack's processes run in sessions of their own (`stop` signals each
    one's process group, children included), so no signal sent to the
    runner reaches them: a runner that died of SIGTERM's default action
    would leave all of them running. A handler the caller installed is kept.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
        signal.SIG_DFL,
        None,
    ):
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    web_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    metrics_base_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        stop_children_on_sigterm()  # the callers stop the stack in a finally block
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "SPOT_PORT": str(self.web_port),
            "SPOT_API_PORT": str(self.api_port),
            "PATH": f"{ROOT / '.venv' / 'bin'}:{self.env.get('PATH', os.environ['PATH'])}",
        }
        base = self.metrics_base_port or free_port_run(64)
        for name, command in procfile_lines(env, base):
            with (self.log_dir / f"{name}.log").open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {command}"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until both servers answer and every worker leads its shard; SystemExit naming what did not."""
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise SystemExit(
                        f"{name} exited at start ({process.returncode}): {self.log_dir / name}.log"
                    )
                if self._ready(name):
                    pending.discard(name)
            time.sleep(0.2)
        if pending:
            raise SystemExit(
                f"not ready after {timeout:.0f} s: {', '.join(sorted(pending))} (logs in {self.log_dir})"
            )

    def _ready(self, name: str) -> bool:
        if name in ("web", "api"):
            port = self.web_port if name == "web" else self.api_port
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/markets", timeout=2) as answer:
                    return bool(answer.status == 200)
            except (urllib.error.URLError, OSError):
                return False
        log = (self.log_dir / f"{name}.log").read_text(errors="replace")
        if name == "invariants":  # the live audit leads nothing: it is ready once it runs
            return "live audit every" in log
        return " is leader " in log

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of each process of the stack (with its children) and of MariaDB and Redis."""
        return tree_cpu_seconds({**self.pids(), **service_pids()})

    def wakeups(self) -> dict[str, dict[int, int]]:
        return tree_wakeups({**self.pids(), **service_pids()})

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each process of the stack (with its children) and of MariaDB and Redis."""
        return tree_rss_bytes({**self.pids(), **service_pids()})

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                print(f"{name} did not stop on SIGTERM within 30 s and was killed")
        self.processes.clear()
