"""Build the engine with mypyc: ``python -m matching.mypyc_build [--python PY] [--root DIR]``.

Optional (docs/adr/0012-engine-speed.md): the pure modules are the engine
wherever no build is present, and a build is used only for the very
sources it was made from (matching/compiled.py). This copies ``matching/``
to a temporary directory beside the build root, edits the copy as compiled
code needs (below), compiles it with mypyc, and renames it to
``<root>/<extension suffix>-<source hash>/``; nothing is written next to the
sources. It needs a C compiler and the Python headers. mypyc comes from the
target interpreter when it has mypy 2.4.1 and setuptools (the project's dev
requirements), else from a build venv ``<root>/venv-<X.Y>`` made from
PyPI. Prints the build directory.

The edits, each checked to apply (the build stops if one no longer
matches), because compiled code differs from the interpreter where the
engine relies on it:

- the public commands take ``Any``: compiled code checks declared argument
  types at the call and raises ``TypeError`` where the engine answers a float
  price or a text id with ``Rejected`` (tests/matching/test_bad_commands.py);
- module constants are ``Final`` (read from a C static, not a dict lookup);
- the resting-order record is acyclic (the cyclic GC never tracks it: it
  holds ints and enum members only) and reuses a freed instance.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from matching.compiled import PACKAGE_DIR, build_dir, build_root, find_build, source_hash

MYPY_VERSION = "2.4.1"
BUILD_REQUIREMENTS = (f"mypy=={MYPY_VERSION}", "setuptools", "sortedcontainers==2.4.0")
COMPILED = ("book", "matcher", "price_level", "orders", "iceberg", "expiry", "stops", "types", "events")

# Arguments a caller may get wrong, which the engine must answer with Rejected.
_CHECKED_ARGUMENTS = [
    "order_id",
    "user_id",
    "side",
    "order_type",
    "tif",
    "price_ticks",
    "qty_lots",
    "quote_lots",
    "post_only",
    "stp",
    "ts",
    "spend_units",
    "new_qty_lots",
    "new_price_ticks",
    "display_lots",
    "expire_ts",
    "stop_ticks",
    "state",
    "command",
]
_PUBLIC = {
    "place",
    "_place_checked",
    "_place_market",
    "cancel",
    "cancel_all",
    "amend",
    "place_stop",
    "place_limit",
    "restore",
    "_reject",
    "_cancel_stop",
    "expire",
}
_MYPY_INI = """[mypy]
python_version = {version}
strict = True
warn_return_any = False
[mypy-sortedcontainers.*]
ignore_missing_imports = True
"""


def _replace_once(text: str, old: str, new: str, where: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"{where}: expected one {old.strip()!r}; the edits need updating")
    return text.replace(old, new)


def _finals(text: str) -> str:
    lines = text.split("\n")
    changed = False
    for i, line in enumerate(lines):
        match = re.match(r"^([A-Z_][A-Z0-9_]*) = (.+)$", line)
        if match and not match.group(2).startswith(("list[", "dict[", "tuple[")):
            lines[i] = f"{match.group(1)}: Final = {match.group(2)}"
            changed = True
    if not changed:
        return text
    return _replace_once(
        "\n".join(lines),
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nfrom typing import Final\n",
        "Final",
    )


def _any_arguments(text: str) -> str:
    names = "|".join(_CHECKED_ARGUMENTS)
    out = []
    in_signature = False
    for line in text.split("\n"):
        match = re.match(r"\s+def (\w+)\(", line)
        if match:
            in_signature = match.group(1) in _PUBLIC
        if in_signature:
            line = re.sub(
                rf"\b({names}): [A-Za-z_\[\], |]+?( = [^,]+)?,(\s*)$",
                lambda m: f"{m.group(1)}: Any{m.group(2) or ''},{m.group(3)}",
                line,
            )
            line = re.sub(
                rf"\b({names}): (int|CommandKind|RejectReason|dict\[str, Any\])(?=[,)])", r"\1: Any", line
            )
            if ") ->" in line:
                in_signature = False
        out.append(line)
    text = "\n".join(out)
    if "from typing import Any" not in text:
        text = _replace_once(text, "from typing import Final\n", "from typing import Any, Final\n", "Any")
    return text


def prepare(target: Path, digest: str) -> None:
    """Copy the package (the sources hashed ``digest``, or stop) and edit the copy."""
    package = target / "matching"
    shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    if source_hash(package) != digest:
        raise SystemExit("matching/ changed while the build copied it: run the build again")
    orders = package / "orders.py"
    text = _replace_once(
        orders.read_text(),
        "\nclass OrderRecord:\n",
        "\n@mypyc_attr(acyclic=True, free_list_len=1)\nclass OrderRecord:\n",
        "orders",
    )
    text = _replace_once(
        text,
        "from typing import NamedTuple\n",
        # mypyc reads the decorator; at run time nothing imports mypy_extensions.
        "from typing import TYPE_CHECKING, NamedTuple\n\n"
        "if TYPE_CHECKING:\n    from mypy_extensions import mypyc_attr\n",
        "orders",
    )
    orders.write_text(text)
    for name in COMPILED:
        path = package / f"{name}.py"
        text = _finals(path.read_text())
        if name in ("book", "matcher"):
            text = _any_arguments(text)
        path.write_text(text)


def _has_mypyc(python: str) -> bool:
    probe = f"import mypy.version, mypyc, setuptools; assert mypy.version.__version__ == {MYPY_VERSION!r}"
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def compiler_for(python: str, root: Path, version: str) -> Path:
    """An interpreter with mypyc for ``python``'s version: itself, or a build venv made once."""
    if _has_mypyc(python):
        return Path(python)
    venv = root / f"venv-{version}"
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.read_text() != "\n".join(BUILD_REQUIREMENTS):
        if not (venv / "bin" / "python").exists():
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *BUILD_REQUIREMENTS], check=True)
        stamp.write_text("\n".join(BUILD_REQUIREMENTS))
    return venv / "bin" / "python"


_TARGET_PROBE = (
    "import sys, importlib.machinery as m; "
    "print(f'{sys.version_info[0]}.{sys.version_info[1]}', m.EXTENSION_SUFFIXES[0])"
)


def _version_and_suffix(python: str) -> tuple[str, str]:
    """The target's X.Y and extension suffix; asked of it only when it is another interpreter."""
    if python == sys.executable:  # `make run` and `make test`: no process to start
        return f"{sys.version_info[0]}.{sys.version_info[1]}", EXTENSION_SUFFIXES[0]
    version, suffix = subprocess.run(
        [python, "-c", _TARGET_PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    return version, suffix


def build(python: str, root: Path) -> Path:
    """The build of these sources for ``python``: found, or made."""
    version, suffix = _version_and_suffix(python)
    digest = source_hash()
    target = build_dir(root, digest, suffix)
    if find_build(root, digest, suffix) is not None:
        return target
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=root))
    try:
        prepare(work, digest)
        (work / "mypy.ini").write_text(_MYPY_INI.format(version=version))
        compiler = compiler_for(python, root, version)
        modules = [f"matching/{name}.py" for name in COMPILED]
        log = work / "build.log"
        with log.open("w") as out:
            result = subprocess.run(
                [str(compiler), "-m", "mypyc", "--config-file", "mypy.ini", *modules],
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if result.returncode:
            kept = root / f"{target.name}.failed.log"
            shutil.copyfile(log, kept)
            raise SystemExit(f"mypyc failed; see {kept}")
        shutil.rmtree(work / "build", ignore_errors=True)
        (work / "BUILT").write_text(digest)
        _publish(work, target, digest, suffix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remove_stale_builds(root, target)
    return target


def _publish(work: Path, target: Path, digest: str, suffix: str) -> None:
    """Rename the finished build into place, never over a complete one a process may be loading.

    Two builds of the same sources at once (`make run` beside `make test`) both
    finish; the first rename wins and the second keeps the first's build. An
    incomplete directory (a build killed before its stamp) is replaced.
    """
    try:
        work.rename(target)  # complete, or not there at all
    except OSError:  # the target exists: a finished build of the same sources, or a broken one
        if find_build(target.parent, digest, suffix) is not None:
            return
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)


def _remove_stale_builds(root: Path, kept: Path) -> None:
    """Builds for this interpreter of other sources: they would never be loaded again."""
    tag = kept.name.rsplit("-", 1)[0]
    for other in root.iterdir():
        if other != kept and re.fullmatch(rf"{re.escape(tag)}-[0-9a-f]{{16}}", other.name):
            shutil.rmtree(other, ignore_errors=True)


_TOOLCHAIN_PROBE = """
import os, pathlib, shutil, sysconfig
cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
headers = pathlib.Path(sysconfig.get_paths()["include"], "Python.h")
raise SystemExit(0 if shutil.which(cc) and headers.exists() else 1)
"""


def has_toolchain(python: str) -> bool:
    """A C compiler and the Python headers, as ``python`` would build extensions."""
    return subprocess.run([python, "-c", _TOOLCHAIN_PROBE], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", default=sys.executable, help="the interpreter to build for")
    parser.add_argument(
        "--root", type=Path, default=None, help="the build root (default: see matching.compiled)"
    )
    parser.add_argument(
        "--if-possible",
        action="store_true",
        help="with no C compiler or Python headers, say so and exit 0 (printing no directory)",
    )
    args = parser.parse_args()
    if args.if_possible and not has_toolchain(args.python):
        print("no C compiler or Python headers here: the pure-Python engine runs", file=sys.stderr)
        return
    print(build(args.python, args.root or build_root()))


if __name__ == "__main__":
    main()
