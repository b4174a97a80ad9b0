"""The engine's optional mypyc build is used only for the very sources it was made from.

`make test` runs tests/matching once more with SPOT_ENGINE=compiled against a
real build (Makefile, `pytest-compiled`); these tests pin how the package
chooses, without a compiler.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import matching
from matching import compiled

PACKAGE = Path(matching.__file__).parent


def test_the_engine_that_runs_is_the_one_asked_for() -> None:
    import matching.book

    loaded_compiled = matching.book.__file__.endswith(EXTENSION_SUFFIXES[0])
    asked = os.environ.get("SPOT_ENGINE", "auto")
    assert loaded_compiled == matching.ENGINE_BUILD.startswith("compiled")
    if asked == "pure":
        assert matching.ENGINE_BUILD == "pure" and not loaded_compiled
    if asked == "compiled":
        assert loaded_compiled


def _fake_build(root: Path, digest: str, stamp: str | None = None) -> Path:
    directory = compiled.build_dir(root, digest)
    (directory / "matching").mkdir(parents=True)
    if stamp is not None:
        (directory / "BUILT").write_text(stamp)
    return directory


def test_a_build_is_found_only_under_the_sources_hash_and_only_once_complete(tmp_path: Path) -> None:
    digest = compiled.source_hash()
    assert compiled.find_build(tmp_path, digest) is None
    _fake_build(tmp_path, "0123456789abcdef", stamp="0123456789abcdef")  # other sources
    assert compiled.find_build(tmp_path, digest) is None
    unfinished = _fake_build(tmp_path, digest)  # no stamp: a build that did not finish
    assert compiled.find_build(tmp_path, digest) is None
    (unfinished / "BUILT").write_text(digest)
    assert compiled.find_build(tmp_path, digest) == unfinished


def test_it_puts_the_build_first_on_the_package_path_unless_told_pure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("SPOT_ENGINE_BUILD_DIR", str(tmp_path))
    directory = _fake_build(tmp_path, compiled.source_hash(), stamp=compiled.source_hash())
    for choice in ("auto", "compiled"):
        monkeypatch.setenv("SPOT_ENGINE", choice)
        path = ["/the/sources"]
        assert compiled.activate(path) == f"compiled ({directory})"
        assert path == [str(directory / "matching"), "/the/sources"]
        assert str(directory) in sys.path  # where the compiled modules' shared library is
    monkeypatch.setenv("SPOT_ENGINE", "pure")
    path = ["/the/sources"]
    assert compiled.activate(path) == "pure"
    assert path == ["/the/sources"]


def test_without_a_build_auto_runs_pure_and_compiled_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOT_ENGINE_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("SPOT_ENGINE", "auto")
    assert compiled.activate([]) == "pure"
    monkeypatch.setenv("SPOT_ENGINE", "compiled")
    with pytest.raises(compiled.NoCompiledBuild, match=r"matching\.mypyc_build"):
        compiled.activate([])
    monkeypatch.setenv("SPOT_ENGINE", "fast")
    with pytest.raises(ImportError, match="SPOT_ENGINE must be one of"):
        compiled.activate([])


def _engine_build_of(package_parent: Path, build_root: Path) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(package_parent),
        "SPOT_ENGINE": "auto",
        "SPOT_ENGINE_BUILD_DIR": str(build_root),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import matching; print(matching.ENGINE_BUILD)"],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_a_build_of_other_sources_never_shadows_a_changed_engine(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(PACKAGE, checkout / "matching", ignore=shutil.ignore_patterns("__pycache__"))
    builds = tmp_path / "builds"
    digest = compiled.source_hash(checkout / "matching")
    _fake_build(builds, digest, stamp=digest)
    assert _engine_build_of(checkout, builds).startswith("compiled")

    book = checkout / "matching" / "book.py"
    book.write_text(book.read_text() + "\n# changed after the build\n")
    assert _engine_build_of(checkout, builds) == "pure"


def test_a_new_build_removes_the_builds_of_other_sources_for_the_same_interpreter(tmp_path: Path) -> None:
    from matching.mypyc_build import _remove_stale_builds

    kept = _fake_build(tmp_path, "1111111111111111", stamp="1111111111111111")
    stale = _fake_build(tmp_path, "2222222222222222", stamp="2222222222222222")
    other_python = tmp_path / "cpython-399-x86_64-linux-gnu-3333333333333333"
    in_progress = tmp_path / f"{kept.name}.abc123"  # another build's temporary directory
    venv = tmp_path / "venv-3.12"
    for directory in (other_python, in_progress, venv):
        directory.mkdir()
    _remove_stale_builds(tmp_path, kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (kept, other_python, in_progress, venv)
    )
    assert not stale.exists()


def test_a_finished_build_is_never_replaced_and_a_broken_one_is(tmp_path: Path) -> None:
    from matching.mypyc_build import _publish

    digest = "4444444444444444"
    target = _fake_build(tmp_path, digest, stamp=digest)
    (target / "matching" / "first.so").write_text("loaded by a running process")
    second = tmp_path / "second-build"
    (second / "matching").mkdir(parents=True)
    (second / "BUILT").write_text(digest)
    _publish(second, target, digest, EXTENSION_SUFFIXES[0])
    assert (target / "matching" / "first.so").exists()  # the first build stays

    (target / "BUILT").unlink()  # as if the first had been killed before its stamp
    _publish(second, target, digest, EXTENSION_SUFFIXES[0])
    assert compiled.find_build(tmp_path, digest) == target
    assert not (target / "matching" / "first.so").exists()
    assert not second.exists()
