"""kinds and limits hold the Rust SDK's values (the host uses those)."""

import re
from pathlib import Path

import pytest

from stagehand_plugin import kinds, limits

RUST_SDK = Path(__file__).resolve().parents[2] / "plugin-sdk" / "src"


def rust_consts(name):
    path = RUST_SDK / name
    if not path.exists():
        pytest.skip("not inside the Stagehand repository")
    return dict(re.findall(r"pub const (\w+): [^=]+= ([^;]+);", path.read_text()))


def rust_number(expr):
    return eval(expr.replace("_", ""), {})  # shifts, products and literals only


def test_kinds_equal_the_rust_sdk():
    rust = rust_consts("kinds.rs")
    for name, value in rust.items():
        if name == "KNOWN":
            continue
        assert getattr(kinds, name) == value.strip('"'), name
    known = re.search(r"KNOWN: &\[&str\] = &\[(.*?)\]", (RUST_SDK / "kinds.rs").read_text(), re.S).group(1)
    assert kinds.KNOWN == tuple(getattr(kinds, n) for n in re.findall(r"\w+", known))


def test_limits_equal_the_rust_sdk():
    rust = rust_consts("limits.rs")
    assert rust, "no constants found"
    for name, value in rust.items():
        assert getattr(limits, name) == rust_number(value), name
    ours = {n for n in dir(limits) if n.isupper()}
    assert ours == set(rust)
