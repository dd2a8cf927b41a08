"""The committed WIT copy and bindings are current (see scripts/check_generated.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

import stagehand_plugin.types as types
from stagehand_plugin._contract import types as generated

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_generated.py"


def test_the_wit_copy_and_bindings_are_current():
    pytest.importorskip("componentize_py")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_generated_type_is_re_exported():
    names = {
        n
        for n, v in vars(generated).items()
        if getattr(v, "__module__", None) == generated.__name__ and not n.startswith("_")
    }
    names |= {"EventData", "Action"}  # Unions carry typing's module
    assert names <= set(types.__all__)
