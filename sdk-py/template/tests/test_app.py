"""Tests against the SDK's fake host: plain pytest, no WebAssembly."""

from stagehand_plugin import Settings, kinds, testing
from stagehand_plugin.types import Action_ShowAlert, Role

from app import FollowAlert, Handler


def test_a_follow_shows_an_alert_with_the_set_title():
    testing.reset()
    plugin = FollowAlert(Settings({"title": "Welcome!"}))
    plugin.on_event(testing.follow("Ann"))
    actions = plugin.on_event(testing.follow("JaneDoe"))
    assert len(actions) == 1 and isinstance(actions[0], Action_ShowAlert)
    alert = actions[0].value
    assert alert.title == "Welcome!"
    assert alert.message == "JaneDoe just followed (#2)"


def test_other_kinds_show_nothing():
    testing.reset()
    plugin = FollowAlert(Settings())
    assert plugin.on_event(testing.raid("Ann", 5)) == []


def test_it_asks_for_follows_and_plays_the_actions_role():
    info = testing.describe(Handler)
    assert info.kinds == [kinds.FOLLOW]
    assert info.implements == [Role.ACTIONS]
