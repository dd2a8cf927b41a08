"""The build's checks before it runs componentize-py (the build itself takes
10 to 20 seconds; it is tried by hand and with the example plugin)."""

from pathlib import Path

import pytest

from stagehand_plugin import build


def test_a_project_needs_a_manifest_with_a_name_and_an_app(tmp_path: Path):
    with pytest.raises(build.BuildError, match="no plugin.toml"):
        build.build(tmp_path)
    (tmp_path / "plugin.toml").write_text('version = "0.1.0"\n')
    with pytest.raises(build.BuildError, match="`name` is missing"):
        build.build(tmp_path)
    (tmp_path / "plugin.toml").write_text('name = "x"\nversion = ')
    with pytest.raises(build.BuildError, match="plugin.toml"):
        build.build(tmp_path)
    (tmp_path / "plugin.toml").write_text('name = "x"\nversion = "0.1.0"\n')
    with pytest.raises(build.BuildError, match="no app.py"):
        build.build(tmp_path)


def test_the_wit_it_builds_against_is_the_contract():
    wit = (build.WIT_DIR / "plugin.wit").read_text()
    assert "package stagehand:plugin@0.3.0;" in wit
    assert f"world {build.WORLD} {{" in wit


def test_the_command_line_reports_errors_without_a_traceback(tmp_path: Path, capsys):
    assert build.main([str(tmp_path)]) == 1
    assert "error: no plugin.toml" in capsys.readouterr().err
