"""Write a Stagehand plugin in Python: a class built from its settings, with
a method per role it plays, exported as a WebAssembly component with
componentize-py.

::

    from stagehand_plugin import Plugin, Settings, alert, export, kinds, show_alert, who
    from stagehand_plugin.types import EventData_Follow

    class FollowAlert(Plugin):
        def __init__(self, settings: Settings):
            self.followers = 0

        def on_event(self, event):
            if not isinstance(event.data, EventData_Follow):
                return []
            self.followers += 1
            name = who(event)
            return [show_alert(alert("New follower!", f"{name} just followed"))]

    Handler = export(FollowAlert, kinds=[kinds.FOLLOW])

The contract is the WIT package ``stagehand:plugin@0.3.0`` (``wit/`` in this
package); its types are componentize-py's generated classes, re-exported by
``stagehand_plugin.types``. ``python -m stagehand_plugin.build`` builds the
component; ``stagehand_plugin.testing`` is a fake host for pytest.
"""

from . import actions, fields, host, kinds, limits, text, types
from ._contract import Err
from .actions import (
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
from .fields import field, lookup, message, named, who
from .host import kv, log, now_ms
from .plugin import Plugin, export
from .settings import Settings
from .text import render, tier_name
from .types import *  # noqa: F401,F403  (the contract's types)

__version__ = "0.2.0"
#: The contract this SDK speaks.
CONTRACT = "stagehand:plugin@0.3.0"

__all__ = [
    "CONTRACT",
    "Err",
    "Plugin",
    "Settings",
    "actions",
    "alert",
    "clear_tts",
    "cooldown_tts",
    "display",
    "export",
    "field",
    "fields",
    "host",
    "kinds",
    "kv",
    "limits",
    "log",
    "lookup",
    "message",
    "mute_tts",
    "named",
    "now_ms",
    "render",
    "send_chat",
    "show_alert",
    "speak",
    "text",
    "tier_name",
    "types",
    "unmute_tts",
    "webhook",
    "who",
] + types.__all__
