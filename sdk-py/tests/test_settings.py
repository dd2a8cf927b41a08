import pytest

from stagehand_plugin import Settings


def test_getters_read_what_is_there_and_nothing_else():
    s = Settings.from_json({"a": "x", "n": 5, "m": "7", "b": True, "f": 1.5, "neg": -1})
    assert s.get_str("a") == "x"
    assert s.get_str("missing", "d") == "d"
    assert s.get_str("n") is None
    assert s.get_int("n") == 5
    assert s.get_int("m") == 7
    assert s.get_int("a") is None
    assert s.get_int("b") is None
    assert s.get_int("neg") is None
    assert s.get_int("f") is None
    assert s.get_int("missing", 10) == 10
    assert s.get_bool("b") is True
    assert s.get_bool("n") is None
    assert s.get_float("f") == 1.5
    assert s.get_float("n") == 5.0
    assert s.get_float("m") == 7.0
    assert s["a"] == "x"
    assert "a" in s and len(s) == 6
    assert s == Settings({"a": "x", "n": 5, "m": "7", "b": True, "f": 1.5, "neg": -1})


def test_parse_accepts_objects_only():
    assert Settings.parse("") == Settings()
    assert Settings.parse('{"a": 1}').get("a") == 1
    with pytest.raises(ValueError, match="must be a JSON object"):
        Settings.parse("[1]")
    with pytest.raises(ValueError, match="not valid JSON"):
        Settings.parse("{")
