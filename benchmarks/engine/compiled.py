"""An experimental mypyc build of ``matching/``, for measuring only (ADR 0012, third attempt).

    python -m benchmarks.engine.compiled [--python PY]    # prints the build directory
    python -m benchmarks.engine.peer --build DIR          # the peer benchmark against that build

Copies ``matching/`` to ``var/mypyc-build/py<X.Y>-<hash of the sources>/``,
edits the copy as the compiled build needs (below), and compiles it there
with mypyc 2.4.1 (from a build venv ``var/mypyc-venv-<X.Y>`` made from
``--python``, by default the peer benchmark's Python 3.12). Nothing is
written next to the sources. Putting the directory first on ``sys.path``
imports the compiled modules; the other modules of the copy stay pure.

The edits, each checked to apply, because compiled code differs from the
interpreter where the engine relies on it:

- a record is ``list[Any]``, not ``list[int]``: compiled code unboxes an item
  read as ``int`` and boxes it again as a plain int, so ``record[SIDE] is BUY``
  is false and a cancel looks for a bid among the asks (``KeyError``), and an
  event would carry ``1`` where the contract gives ``Side.BUY``;
- the public commands take ``Any``: compiled code checks declared argument
  types at the call and raises ``TypeError`` where the engine answers a float
  price or a text id with ``Rejected`` (tests/matching/test_bad_commands.py);
- module constants are ``Final`` (read from a C static, not a dict lookup),
  and the fields the matching loop and cancel compute with are typed ``int``
  locals (native arithmetic rather than generic).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "matching"
BUILD_ROOT = REPO / "var" / "mypyc-build"
BUILD_REQUIREMENTS = ("mypy==2.4.1", "setuptools", "sortedcontainers==2.4.0")
COMPILED = ("book", "matcher", "price_level", "orders", "iceberg", "expiry", "stops", "types", "events")
DEFAULT_PYTHON = "/root/.pyenv/versions/3.12.1/bin/python"

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
_TYPED_LOCALS = {
    "matcher": [
        (
            "\n                maker_left = maker[REMAINING]\n",
            "\n                maker_left: int = maker[REMAINING]\n",
        ),
        (
            "\n                maker_id = maker[ORDER_ID]\n",
            "\n                maker_id: int = maker[ORDER_ID]\n",
        ),
    ],
    "book": [
        ("\n        left = record[REMAINING]\n", "\n        left: int = record[REMAINING]\n"),
        (
            "\n        oid, uid, side, price = record[ORDER_ID], record[USER_ID], record[SIDE], record[PRICE]\n",
            "\n        oid: int = record[ORDER_ID]\n        uid: int = record[USER_ID]\n"
            "        side = record[SIDE]\n        price: int = record[PRICE]\n",
        ),
    ],
}
_MYPY_INI = """[mypy]
python_version = {version}
strict = True
warn_return_any = False
[mypy-sortedcontainers.*]
ignore_missing_imports = True
"""


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(SOURCE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())  # the edits are part of the build
    return digest.hexdigest()[:16]


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


def prepare(target: Path) -> None:
    package = target / "matching"
    shutil.copytree(SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    orders = package / "orders.py"
    text = _replace_once(
        orders.read_text(), "OrderRecord = list[int]\n", "OrderRecord = list[Any]\n", "orders"
    )
    text = _replace_once(
        text, "from typing import NamedTuple\n", "from typing import Any, NamedTuple\n", "orders"
    )
    orders.write_text(text)
    for name in COMPILED:
        path = package / f"{name}.py"
        text = _finals(path.read_text())
        for old, new in _TYPED_LOCALS.get(name, []):
            text = _replace_once(text, old, new, name)
        if name in ("book", "matcher"):
            text = _any_arguments(text)
        path.write_text(text)


def build_venv(python: str, version: str) -> Path:
    venv = REPO / "var" / f"mypyc-venv-{version}"
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.read_text() != "\n".join(BUILD_REQUIREMENTS):
        if not (venv / "bin" / "python").exists():
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *BUILD_REQUIREMENTS], check=True)
        stamp.write_text("\n".join(BUILD_REQUIREMENTS))
    return venv / "bin" / "python"


def build(python: str) -> Path:
    version = subprocess.run(
        [python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    target = BUILD_ROOT / f"py{version}-{source_hash()}"
    if (target / ".built").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    prepare(target)
    (target / "mypy.ini").write_text(_MYPY_INI.format(version=version))
    compiler = build_venv(python, version)
    modules = [f"matching/{name}.py" for name in COMPILED]
    log = target / "build.log"
    with log.open("w") as out:
        result = subprocess.run(
            [str(compiler), "-m", "mypyc", "--config-file", "mypy.ini", *modules],
            cwd=target,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode:
        raise SystemExit(f"mypyc failed; see {log}")
    shutil.rmtree(target / "build", ignore_errors=True)
    (target / ".built").write_text(source_hash())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--python", default=DEFAULT_PYTHON if Path(DEFAULT_PYTHON).exists() else sys.executable
    )
    print(build(parser.parse_args().python))


if __name__ == "__main__":
    main()
