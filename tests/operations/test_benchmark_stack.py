"""The benchmarks' stack: a runner stopped with SIGTERM still stops the processes it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from benchmarks.stack import ROOT

RUNNER = textwrap.dedent(
    """
    import subprocess, sys
    from benchmarks.stack import stop_children_on_sigterm

    stop_children_on_sigterm()
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)  # as Stack starts its processes
    try:
        print(child.pid, flush=True)
        sys.stdin.read()  # until the test's SIGTERM
    finally:
        child.terminate()
        child.wait()
        print("stopped", flush=True)
    """
)


def test_a_runner_stopped_with_sigterm_runs_its_finally_and_stops_its_children() -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    child_pid = int(runner.stdout.readline())

    runner.send_signal(signal.SIGTERM)
    rest, _ = runner.communicate(timeout=60)

    assert (runner.returncode, rest.strip()) == (128 + signal.SIGTERM, "stopped")
    assert not os.path.exists(f"/proc/{child_pid}")


def test_a_handler_the_runner_installed_is_kept() -> None:
    code = textwrap.dedent(
        """
        import signal
        from benchmarks.stack import stop_children_on_sigterm

        def mine(signum, frame):
            pass

        signal.signal(signal.SIGTERM, mine)
        stop_children_on_sigterm()
        print(signal.getsignal(signal.SIGTERM) is mine)
        """
    )
    answer = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert answer.stdout.strip() == "True"
