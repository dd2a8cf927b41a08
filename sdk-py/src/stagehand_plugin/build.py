"""Builds a plugin project into a folder Stagehand loads.

    python -m stagehand_plugin.build [PROJECT] [--app app] [--out dist]

(also installed as ``stagehand-build-py``). Reads ``PROJECT/plugin.toml``,
runs componentize-py on the app module (``app.py``, which must define
``Handler = export(...)``) against this SDK's copy of the WIT, and writes
``dist/<name>/plugin.toml`` and ``dist/<name>/<name>.wasm`` (or the file
``wasm = "..."`` names): copy that folder into Stagehand's plugins
directory.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import List, Optional

__all__ = ["build", "main", "WIT_DIR", "WORLD"]

#: The contract's WIT, as this SDK was generated from it.
WIT_DIR = Path(__file__).resolve().parent / "wit"
#: The world a plugin targets.
WORLD = "plugin"
#: The componentize-py this SDK's bindings come from; another version may
#: generate different classes.
COMPONENTIZE_PY = "0.25.1"


class BuildError(Exception):
    """A build that cannot go on, with what to do about it."""


def _componentize_py_version() -> Optional[str]:
    try:
        from importlib.metadata import version

        return version("componentize-py")
    except Exception:
        return None


def componentize(args: List[str], quiet: bool = False) -> None:
    """Runs componentize-py (the one installed with this Python) with
    ``args``; raises BuildError if it fails."""
    found = _componentize_py_version()
    if found is None:
        raise BuildError(f"componentize-py is not installed: pip install componentize-py=={COMPONENTIZE_PY}")
    if found != COMPONENTIZE_PY:
        print(
            f"warning: componentize-py {found} is installed; this SDK was made with {COMPONENTIZE_PY}",
            file=sys.stderr,
        )
    script = "import sys, componentize_py; sys.argv[0] = 'componentize-py'; componentize_py.script()"
    command = [sys.executable, "-c", script] + (["--quiet"] if quiet else []) + args
    done = subprocess.run(command)
    if done.returncode != 0:
        raise BuildError(f"componentize-py failed (exit status {done.returncode})")


def build(project: Path, app: str = "app", out: Optional[Path] = None, quiet: bool = False) -> Path:
    """Builds ``project`` and returns the plugin folder written
    (``out/<name>``, ``out`` defaulting to ``project/dist``)."""
    project = project.resolve()
    manifest_path = project / "plugin.toml"
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"no plugin.toml in {project}") from None
    except tomllib.TOMLDecodeError as e:
        raise BuildError(f"{manifest_path}: {e}") from None
    name = manifest.get("name")
    if not isinstance(name, str) or not name:
        raise BuildError(f"{manifest_path}: `name` is missing")
    if not ((project / f"{app}.py").is_file() or (project / app / "__init__.py").is_file()):
        raise BuildError(f"no {app}.py in {project}: it defines `Handler = export(YourPlugin, ...)`")
    wasm_name = manifest.get("wasm") or f"{name}.wasm"

    out = (out or project / "dist").resolve()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    # The SDK's own folder's parent (site-packages, or src/ of a checkout):
    # where componentize-py finds `stagehand_plugin` and any other package
    # installed beside it.
    sdk_parent = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="stagehand-build-") as tmp:
        wasm_tmp = Path(tmp) / wasm_name
        started = time.monotonic()
        componentize(
            [
                "-d",
                str(WIT_DIR),
                "-w",
                WORLD,
                "componentize",
                app,
                "-p",
                str(project),
                "-p",
                str(sdk_parent),
                "-o",
                str(wasm_tmp),
            ],
            quiet=quiet,
        )
        seconds = time.monotonic() - started
        # Leave no component of an older build beside the new one: the host
        # loads a folder's only .wasm.
        for old in folder.glob("*.wasm"):
            old.unlink()
        shutil.move(str(wasm_tmp), folder / wasm_name)
    shutil.copyfile(manifest_path, folder / "plugin.toml")
    if not quiet:
        size = (folder / wasm_name).stat().st_size
        print(f"built {folder / wasm_name} ({size / 1e6:.1f} MB in {seconds:.1f} s)")
        print(f"check it:   stagehand plugin check {folder}")
        print(f"install it: copy {folder} into Stagehand's plugins directory")
    return folder


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m stagehand_plugin.build",
        description="Build a Stagehand Python plugin into dist/<name>/ (plugin.toml + <name>.wasm).",
    )
    parser.add_argument("project", nargs="?", default=".", help="the plugin project folder (default: .)")
    parser.add_argument("--app", default="app", help="the module defining Handler (default: app)")
    parser.add_argument("--out", default=None, help="where to write <name>/ (default: PROJECT/dist)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)
    try:
        build(Path(args.project), app=args.app, out=Path(args.out) if args.out else None, quiet=args.quiet)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
