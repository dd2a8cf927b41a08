"""The follow alert's tests, against the SDK's fake host (no WebAssembly)."""

import tomllib
from pathlib import Path

from stagehand_plugin import Settings, kinds, testing
from stagehand_plugin.types import Action_ShowAlert, Role

from app import FollowAlert, Handler


def plugin() -> FollowAlert:
    testing.reset()
    return FollowAlert(Settings())


def test_a_follow_becomes_one_alert_naming_the_follower():
    p = plugin()
    actions = p.on_event(testing.follow("JaneDoe"))
    assert len(actions) == 1
    assert isinstance(actions[0], Action_ShowAlert)
    alert = actions[0].value
    assert alert.title == "New follower!"
    assert alert.message == "JaneDoe just followed"
    assert alert.tts == "Thanks for the follow, JaneDoe!"
    assert alert.overlay == "alerts"
    assert alert.duration_ms == 5000


def test_state_lasts_between_events():
    p = plugin()
    p.on_event(testing.follow("A"))
    p.on_event(testing.follow("B"))
    assert p.followers == 2
    # Other kinds are not follows.
    assert p.on_event(testing.cheer("C", 5, "")) == []
    assert p.followers == 2


def test_a_follow_without_a_name_still_reads_well():
    [action] = plugin().on_event(testing.follow(" "))
    assert action.value.message == "Someone just followed"


def test_it_asks_only_for_follows_and_plays_the_actions_role():
    info = testing.describe(Handler)
    assert info.kinds == [kinds.FOLLOW]
    assert info.implements == [Role.ACTIONS]
    assert info.roles == [Role.ACTIONS]


def test_through_the_entry_points_as_the_host_calls_it():
    testing.reset()
    handler = Handler()
    handler.configure("{}")
    handler.on_event(testing.follow("A"))
    [action] = handler.on_event(testing.follow("B"))
    assert action.value.message == "B just followed"


def test_the_manifest_names_the_plugin():
    manifest = tomllib.loads((Path(__file__).parent.parent / "plugin.toml").read_text())
    assert manifest["name"] == "follow-alert-py"
    assert manifest["version"]
