"""The alert rules are checked and unit-tested by promtool (Debian's `prometheus` package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make install` installs Debian's prometheus package"
    return path


@pytest.mark.parametrize("tests", sorted(RULES.glob("*.test.yaml")), ids=lambda path: path.name)
def test_the_rules_pass_their_unit_tests(tests: Path) -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", tests.name], cwd=RULES, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
