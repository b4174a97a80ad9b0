"""The workers' allocator thresholds: set on glibc, a no-op elsewhere."""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

from exchange.pipeline import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_thresholds() -> None:
    # In a child process: the thresholds are the process's for good.
    code = "from exchange.pipeline.allocator import keep_large_blocks_on_heap as k; print(k(), k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_without_a_c_library_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert allocator.keep_large_blocks_on_heap() is False
