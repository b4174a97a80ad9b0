"""`make run`'s embedded Redis ends with the run, however the run is stopped."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from spot import embedded_redis

ROOT = Path(__file__).resolve().parents[2]


def _default_signals() -> None:
    # A suite started in the background ignores SIGINT, and one started under nohup SIGHUP;
    # the runner would inherit that and never stop on the signal under test.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture
def runner() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The runner around a command that waits to be stopped, in its own process group as `make run` is."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "spot.embedded_redis", "--", "sleep", "600"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_signals,  # as from a terminal
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"on 127\.0\.0\.1:(\d+)", line)
    assert found, line
    client = redis.Redis(port=int(found.group(1)))
    server_pid = int(client.info("server")["process_id"])
    client.close()
    yield process, server_pid
    for pid in (process.pid, server_pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended too
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_to_the_process_group_stops_the_server_too(runner, signum) -> None:
    process, server_pid = runner
    os.killpg(process.pid, signum)
    process.wait()
    # The runner reaps the server before it exits: nothing is left to wait for.
    assert not is_running(server_pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_server_stops_when_the_runner_is_killed_outright(runner) -> None:
    process, server_pid = runner
    process.kill()
    process.wait()
    while is_running(server_pid):  # the kernel signals it; pytest's timeout bounds the wait
        time.sleep(0.05)


def test_a_server_without_a_data_dir_leaves_no_directory_behind() -> None:
    server = embedded_redis.start_server(embedded_redis.free_port(), None)
    args = [str(arg) for arg in server.args]  # type: ignore[union-attr]  # a list, as start_server makes it
    directory = Path(args[args.index("--dir") + 1])
    assert directory.is_dir()

    server.terminate()
    server.wait()
    del server
    gc.collect()

    assert not directory.exists()


def test_a_command_attached_to_a_running_server_gets_its_url_and_none_is_left_after(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    data_dir = tmp_path / "redis"
    run = subprocess.Popen(
        [sys.executable, "-m", "spot.embedded_redis", "--data-dir", str(data_dir), "--", "sleep", "600"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert run.stderr is not None
        port = re.search(r"on 127\.0\.0\.1:(\d+)", run.stderr.readline())
        assert port is not None
        show = "import os, redis; url = os.environ['REDIS_URL']; print(url, redis.Redis.from_url(url).ping())"
        attached = subprocess.run(
            [
                sys.executable,
                "-m",
                "spot.embedded_redis",
                "--attach",
                str(data_dir),
                "--",
                sys.executable,
                "-c",
                show,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert attached.stdout.split() == [f"redis://127.0.0.1:{port.group(1)}/0", "True"], attached.stderr
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)
    assert not (data_dir / embedded_redis.URL_FILE).exists()


def test_attaching_where_no_server_runs_says_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    attached = subprocess.run(
        [sys.executable, "-m", "spot.embedded_redis", "--attach", str(tmp_path), "--", "true"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert attached.returncode != 0
    assert "start `make run` first" in attached.stderr
