"""Which build of the engine runs: these modules, or a mypyc build of them made from these very sources.

A compiled build (``python -m matching.mypyc_build``, docs/adr/0012-engine-speed.md)
lives in a directory of its own, named after the interpreter's extension
suffix and a hash of every ``matching/*.py``: ``<root>/<suffix>-<hash>/``,
``<root>`` being ``$SPOT_ENGINE_BUILD_DIR`` or ``var/engine-build`` beside the
package. At import the package hashes its sources and looks for that
directory only, so a build made from other sources (stale, or another
checkout's) is never loaded: any change to the engine means pure Python
until it is built again.

``$SPOT_ENGINE`` chooses: ``auto`` (the default) takes the build when there is
one for these sources; ``pure`` never does; ``compiled`` insists, and import
fails naming the directory it looked for.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import MutableSequence
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ROOT = PACKAGE_DIR.parent / "var" / "engine-build"
CHOICES = ("auto", "pure", "compiled")


class NoCompiledBuild(ImportError):
    pass


def source_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """A hash of every module of the package, by name and content."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_root() -> Path:
    return Path(os.environ.get("SPOT_ENGINE_BUILD_DIR") or DEFAULT_ROOT)


def build_dir(root: Path, digest: str, suffix: str = EXTENSION_SUFFIXES[0]) -> Path:
    """Where the build of sources with hash ``digest`` for this interpreter lives."""
    tag = suffix.removeprefix(".").removesuffix(".so").removesuffix(".pyd")
    return root / f"{tag}-{digest}"


def find_build(root: Path, digest: str, suffix: str = EXTENSION_SUFFIXES[0]) -> Path | None:
    """The build directory for these sources, if one was completed (it holds its stamp)."""
    directory = build_dir(root, digest, suffix)
    stamp = directory / "BUILT"
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return directory
    return None


def activate(package_path: MutableSequence[str]) -> str:
    """Put the build for these sources first on the package's path; returns what runs."""
    choice = os.environ.get("SPOT_ENGINE", "auto") or "auto"
    if choice not in CHOICES:
        raise ImportError(f"SPOT_ENGINE must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "pure":
        return "pure"
    root = build_root()
    digest = source_hash()
    directory = find_build(root, digest)
    if directory is None:
        if choice == "compiled":
            raise NoCompiledBuild(
                f"SPOT_ENGINE=compiled but no build of these sources at {build_dir(root, digest)}: "
                "run `python -m matching.mypyc_build`"
            )
        return "pure"
    # The compiled modules' shared library is a top-level module of the build directory.
    if str(directory) not in sys.path:
        sys.path.append(str(directory))
    package_path.insert(0, str(directory / "matching"))
    return f"compiled ({directory})"


# Imported by the package's __init__ before any other module of it.
ENGINE_BUILD = activate(sys.modules[__package__ or "matching"].__path__)
