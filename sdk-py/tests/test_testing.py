import pytest

from stagehand_plugin import kinds, testing
from stagehand_plugin.types import (
    EventData_ChatMessage,
    EventData_Gift,
    EventData_Other,
    EventData_Unban,
    Source,
)


def test_builders_make_events_of_their_kind():
    builders = [
        (testing.follow("A"), kinds.FOLLOW),
        (testing.subscribe("A", 1000), kinds.SUBSCRIBE),
        (testing.gifted_sub("A", 1000), kinds.SUBSCRIBE),
        (testing.subscription_end("A", 1000), kinds.SUBSCRIPTION_END),
        (testing.resub("A", 3, "hi"), kinds.RESUB),
        (testing.gift("A", 5), kinds.GIFT),
        (testing.cheer("A", 100, "hi"), kinds.CHEER),
        (testing.raid("A", 10), kinds.RAID),
        (testing.redemption("A", "T", 5, ""), kinds.REDEMPTION),
        (testing.chat("A", "hi", ["moderator"]), kinds.CHAT_MESSAGE),
        (testing.ban("A", "spam"), kinds.BAN),
        (testing.timeout("A", 60), kinds.BAN),
        (testing.about(kinds.UNBAN, "A"), kinds.UNBAN),
        (testing.stream_online("A"), kinds.STREAM_ONLINE),
        (testing.stream_offline("A"), kinds.STREAM_OFFLINE),
        (testing.clip("A", "T"), kinds.CLIP_CREATED),
        (testing.other("channel.hype_train.begin", {"level": 1}), "channel.hype_train.begin"),
    ]
    for event, kind in builders:
        assert event.kind == kind
        assert event.source == Source.TEST
        assert event.channel_id == "1000"
        assert event.occurred_at_ms == 1_700_000_000_000


def test_builders_fill_the_data():
    assert testing.gift(None, 5).viewer is None
    assert testing.gift(None, 5).data == EventData_Gift(testing.gift(None, 5).data.value)
    assert testing.cheer("", 1, "").viewer is None
    chat = testing.chat("Ann", "hi", ["moderator", "vip"])
    assert isinstance(chat.data, EventData_ChatMessage)
    assert [b.set_id for b in chat.data.value.badges] == ["moderator", "vip"]
    assert chat.viewer.login == "ann"
    assert isinstance(testing.about(kinds.UNBAN, "A").data, EventData_Unban)
    assert isinstance(testing.other("x", {}).data, EventData_Other)
    with pytest.raises(ValueError):
        testing.about(kinds.FOLLOW, "A")
