"""Builders for what a plugin returns: alerts, displays and actions.

The contract's records have no defaults (every field must be given), so
these fill in the usual ones: an alert for the default overlay shown for 5
seconds, and each action case wrapped in its variant class.
"""

import dataclasses
import json
from typing import Any, Optional

from .types import (
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
    WebhookRequest,
)

__all__ = [
    "alert",
    "display",
    "show_alert",
    "speak",
    "send_chat",
    "mute_tts",
    "unmute_tts",
    "cooldown_tts",
    "clear_tts",
    "webhook",
]

_ALERT_FIELDS = tuple(f.name for f in dataclasses.fields(Alert))


def alert(title: str, message: str = "", **extras: Any) -> Alert:
    """An alert for the default overlay ("alerts"), shown for 5 seconds.
    ``extras`` sets any other field by name: ``overlay``, ``image_url``,
    ``sound_url``, ``video_url``, ``tts``, ``duration_ms``, ``html``,
    ``css``; a misspelt name is a TypeError rather than a silent no-op."""
    unknown = sorted(set(extras) - set(_ALERT_FIELDS))
    if unknown:
        raise TypeError(f"alert() has no field {', '.join(unknown)}; fields: {', '.join(_ALERT_FIELDS)}")
    fields = dict(
        overlay="alerts",
        title=title,
        message=message,
        image_url=None,
        sound_url=None,
        video_url=None,
        tts=None,
        duration_ms=5_000,
        html=None,
        css=None,
    )
    fields.update(extras)
    return Alert(**fields)


def display(label: str, icon: str, color: str, text: str) -> Display:
    """How the dashboard shows an event: a short name of the kind
    ("Follow"), an emoji, a CSS color and one line of text."""
    return Display(label=label, icon=icon, color=color, text=text)


def show_alert(alert_: Alert) -> Action_ShowAlert:
    """Queue ``alert_`` on its overlay (no permission needed)."""
    return Action_ShowAlert(alert_)


def speak(text: str) -> Action_Speak:
    """Read ``text`` aloud on the speech overlay (no permission needed; for
    a chat message event the chatter's TTS rules apply)."""
    return Action_Speak(text)


def send_chat(text: str) -> Action_SendChat:
    """Say ``text`` in chat (permission ``chat``; at most 500 characters)."""
    return Action_SendChat(text)


def mute_tts(login: str, minutes: Optional[int] = None) -> Action_MuteTts:
    """Mute a viewer's TTS for ``minutes``, or until unmuted when None
    (permission ``tts_rules``)."""
    return Action_MuteTts(TtsMute(login=login, minutes=minutes))


def unmute_tts(login: str) -> Action_UnmuteTts:
    """Lift a viewer's TTS mute (permission ``tts_rules``)."""
    return Action_UnmuteTts(login)


def cooldown_tts(login: str, gap_seconds: int, minutes: int) -> Action_CooldownTts:
    """Make a viewer wait ``gap_seconds`` between TTS messages for
    ``minutes`` (permission ``tts_rules``)."""
    return Action_CooldownTts(TtsCooldown(login=login, gap_seconds=gap_seconds, minutes=minutes))


def clear_tts(login: str) -> Action_ClearTts:
    """Remove every TTS rule of a viewer (permission ``tts_rules``)."""
    return Action_ClearTts(login)


def webhook(url: str, body: Any) -> Action_Webhook:
    """POST ``body`` to ``url`` (https; its host must be listed in
    ``plugin.toml``'s ``webhooks``). A body that is not text is sent as
    JSON, so ``webhook(url, {"content": "hi"})`` just works."""
    if not isinstance(body, str):
        body = json.dumps(body)
    return Action_Webhook(WebhookRequest(url=url, body=body))
