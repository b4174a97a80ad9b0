"""The end-to-end benchmark's load generator: the event loop it is told to run on."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.e2e.client import CLIENT_LOOP_VARIABLE, run_client


@pytest.mark.parametrize("name", ["asyncio", "uvloop"])
def test_the_sender_and_the_listener_run_on_the_loop_they_are_told(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name == "uvloop":
        pytest.importorskip("uvloop")
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])

    monkeypatch.setenv(CLIENT_LOOP_VARIABLE, name)
    run_client(main())
    assert loops == [name]
