import pytest

from stagehand_plugin import host, kv, log, now_ms, testing
from stagehand_plugin.types import Level


def test_the_fake_host_keeps_kv_logs_and_time():
    kv.set("k", "v")
    assert kv.get("k") == "v"
    assert testing.kv() == {"k": "v"}
    kv.delete("k")
    assert kv.get("k") is None
    assert testing.kv() == {}
    log.info("hello")
    log(Level.WARN, "careful")
    log("error", "bad")
    assert testing.logs() == [(Level.INFO, "hello"), (Level.WARN, "careful"), (Level.ERROR, "bad")]
    testing.set_now_ms(42)
    assert now_ms() == 42
    testing.set_settings({"a": 1})
    assert host.settings() == {"a": 1}


def test_counters_read_whole_numbers_only():
    assert kv.get_int("n") == 0
    kv.set("n", "41")
    assert kv.get_int("n") == 41
    kv.set("n", "lots")
    assert kv.get_int("n") == 0
    kv.set("n", "-3")
    assert kv.get_int("n") == 0


def test_values_are_text():
    with pytest.raises(TypeError, match="str"):
        kv.set("n", 5)


def test_reads_are_cached_and_writes_batched():
    testing.set_kv("a", "1")
    assert kv.get("a") == "1"
    testing.fake_host().kv["a"] = "changed behind the SDK's back"
    assert kv.get("a") == "1"  # cached: only the plugin writes its keys
    testing.reset_kv_cache()
    assert kv.get("a") == "changed behind the SDK's back"
    kv.set("x", "1")
    kv.set("y", "2")
    kv.delete("x")
    assert testing.fake_host().kv_writes == 0
    assert testing.kv() == {"a": "changed behind the SDK's back", "y": "2"}
    assert testing.fake_host().kv_writes == 1


def test_reset_starts_clean():
    kv.set("k", "v")
    log.info("x")
    testing.set_now_ms(5)
    testing.reset()
    assert testing.kv() == {} and testing.logs() == []
    assert now_ms() == 1_700_000_000_000
    assert host.settings() == {}
