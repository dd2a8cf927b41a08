"""The same cases as the Rust SDK's text.rs, so templates behave alike."""

import pytest

from stagehand_plugin.text import is_name, render, tier_name


def test_tiers_read_as_people_say_them():
    assert tier_name("1000") == "Tier 1"
    assert tier_name("3000") == "Tier 3"
    assert tier_name("Prime") == "Prime"
    assert tier_name("custom") == "custom"
    assert tier_name(2000) == "Tier 2"
    assert tier_name(" prime ") == "Prime"


def vars(name):
    return {"username": "Bob", "bits": "100", "reward.title": "Hydrate", "empty": ""}.get(name)


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{username} cheered {bits} bits!", "Bob cheered 100 bits!"),
        ("{username}{bits}", "Bob100"),
        ("redeemed {reward.title}", "redeemed Hydrate"),
        ("no placeholders", "no placeholders"),
        ("", ""),
        ("{username}", "Bob"),
        ("[{empty}]", "[]"),
    ],
)
def test_placeholders_are_filled(template, expected):
    assert render(template, vars) == expected


def test_unknown_variables_become_empty():
    assert render("hi {nobody}!", vars) == "hi !"
    assert render("{reward.cost} points", vars) == " points"


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{username}}", "{username}"),
        ("a { b } c", "a { b } c"),
        ("lone { brace", "lone { brace"),
        ("lone } brace", "lone } brace"),
        ("{username", "{username"),
        ("{}", "{}"),
        ("{user name}", "{user name}"),
        ("{.x}", "{.x}"),
        ("{a..b}", "{a..b}"),
        ("{{{username}}}", "{Bob}"),
        ("😀{username}😀", "😀Bob😀"),
    ],
)
def test_braces_that_are_not_placeholders_stay(template, expected):
    assert render(template, vars) == expected


def test_values_are_not_templates_themselves():
    assert render("{message}", lambda _: "{username}") == "{username}"


def test_names_allow_nesting_but_not_junk():
    assert is_name("bits")
    assert is_name("reward.title")
    assert is_name("badges.0.set_id")
    assert not is_name("")
    assert not is_name("a b")
    assert not is_name("a.")
    assert not is_name("a-b")
    assert not is_name("a\n")


def test_a_dict_is_a_lookup_and_values_are_printed():
    assert render("{n} {ok} {none}", {"n": 3, "ok": True, "none": None}) == "3 true "
