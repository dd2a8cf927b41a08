import json

import pytest

from stagehand_plugin import (
    alert,
    clear_tts,
    cooldown_tts,
    display,
    mute_tts,
    send_chat,
    show_alert,
    speak,
    unmute_tts,
    webhook,
)
from stagehand_plugin.types import (
    Action_ClearTts,
    Action_CooldownTts,
    Action_MuteTts,
    Action_SendChat,
    Action_ShowAlert,
    Action_Speak,
    Action_UnmuteTts,
    Action_Webhook,
    Alert,
    Display,
    TtsCooldown,
    TtsMute,
)


def test_an_alert_has_the_usual_defaults():
    a = alert("Title", "Message")
    assert a == Alert(
        overlay="alerts",
        title="Title",
        message="Message",
        image_url=None,
        sound_url=None,
        video_url=None,
        tts=None,
        duration_ms=5000,
        html=None,
        css=None,
    )
    b = alert("T", tts="hi", duration_ms=8000, overlay="big")
    assert (b.tts, b.duration_ms, b.overlay, b.message) == ("hi", 8000, "big", "")


def test_a_misspelt_alert_field_is_an_error():
    with pytest.raises(TypeError, match="imageurl"):
        alert("T", imageurl="x")


def test_builders_wrap_each_action():
    a = alert("T")
    assert show_alert(a) == Action_ShowAlert(a)
    assert speak("hi") == Action_Speak("hi")
    assert send_chat("hi") == Action_SendChat("hi")
    assert mute_tts("bob") == Action_MuteTts(TtsMute(login="bob", minutes=None))
    assert mute_tts("bob", 10).value.minutes == 10
    assert unmute_tts("bob") == Action_UnmuteTts("bob")
    assert cooldown_tts("bob", 30, 60) == Action_CooldownTts(TtsCooldown(login="bob", gap_seconds=30, minutes=60))
    assert clear_tts("bob") == Action_ClearTts("bob")
    hook = webhook("https://discord.com/api/x", {"content": "hi"})
    assert isinstance(hook, Action_Webhook)
    assert json.loads(hook.value.body) == {"content": "hi"}
    assert webhook("https://a.example/x", "raw").value.body == "raw"
    assert display("Follow", "💜", "#9146ff", "Ann followed") == Display(
        label="Follow", icon="💜", color="#9146ff", text="Ann followed"
    )
