#!/usr/bin/env python3
"""Checks that what this SDK keeps generated is still what it should be:

- ``src/stagehand_plugin/wit/plugin.wit`` equals the contract,
  ``../plugin-sdk/wit/since_v0.3.0/plugin.wit`` (the SDK builds against its
  own copy, so that it works outside the Stagehand repository);
- ``src/stagehand_plugin/_bindings`` equals what componentize-py generates
  from it today (regenerated into a temporary folder and compared file by
  file).

Exits non-zero with the differences otherwise. ``--update`` rewrites both
from their sources instead. Run it from anywhere:
``python sdk-py/scripts/check_generated.py``.
"""

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK = Path(__file__).resolve().parent.parent
PACKAGE = SDK / "src" / "stagehand_plugin"
WIT_COPY = PACKAGE / "wit" / "plugin.wit"
CONTRACT = SDK.parent / "plugin-sdk" / "wit" / "since_v0.3.0" / "plugin.wit"
BINDINGS = PACKAGE / "_bindings"
# What is kept of componentize-py's output: the contract's module and the
# Ok/Err/Some types it imports. The rest it writes (asyncio and wasi:http
# helpers, the runtime's stub) has nothing to do with this synchronous
# contract.
KEPT = ["wit_world", "componentize_py_types.py"]
COMPONENTIZE_PY = "0.25.1"


def files(root: Path) -> set:
    return {
        p.relative_to(root).as_posix()
        for name in KEPT
        for p in ([root / name] if (root / name).is_file() else (root / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def generate(into: Path) -> None:
    try:
        from importlib.metadata import version

        found = version("componentize-py")
    except Exception:
        sys.exit(f"componentize-py is not installed: pip install componentize-py=={COMPONENTIZE_PY}")
    if found != COMPONENTIZE_PY:
        sys.exit(f"componentize-py {found} is installed; the bindings are made with {COMPONENTIZE_PY}")
    script = "import sys, componentize_py; sys.argv[0] = 'componentize-py'; componentize_py.script()"
    subprocess.run(
        [sys.executable, "-c", script, "-q", "-d", str(WIT_COPY.parent), "-w", "plugin", "bindings", str(into)],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the WIT copy and the bindings")
    args = parser.parse_args()
    problems = []

    if not CONTRACT.is_file():
        print(f"note: {CONTRACT} not found (not inside the Stagehand repository): WIT copy not compared")
    elif CONTRACT.read_bytes() != WIT_COPY.read_bytes():
        if args.update:
            shutil.copyfile(CONTRACT, WIT_COPY)
            print(f"updated {WIT_COPY}")
        else:
            problems.append(f"{WIT_COPY} differs from {CONTRACT}")

    with tempfile.TemporaryDirectory(prefix="stagehand-bindings-") as tmp:
        fresh = Path(tmp) / "out"
        generate(fresh)
        if args.update:
            for name in KEPT:
                old = BINDINGS / name
                if old.is_dir():
                    shutil.rmtree(old)
                elif old.exists():
                    old.unlink()
                new = fresh / name
                if new.is_dir():
                    shutil.copytree(new, old)
                else:
                    shutil.copyfile(new, old)
            print(f"updated {BINDINGS}")
        else:
            ours, theirs = files(BINDINGS), files(fresh)
            for name in sorted(theirs - ours):
                problems.append(f"_bindings/{name} is missing")
            for name in sorted(ours - theirs):
                problems.append(f"_bindings/{name} is no longer generated")
            for name in sorted(ours & theirs):
                if not filecmp.cmp(BINDINGS / name, fresh / name, shallow=False):
                    problems.append(f"_bindings/{name} differs from what componentize-py generates")

    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print("run scripts/check_generated.py --update, then review and test", file=sys.stderr)
        return 1
    if not args.update:
        print("OK: the WIT copy and the bindings are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
