"""The smallest useful plugin, in Python: "New follower!" on the default
overlay for every follow, counting this session's followers. The Python port
of plugins/follow-alert."""

from stagehand_plugin import Plugin, Settings, alert, export, kinds, show_alert, who
from stagehand_plugin.types import EventData_Follow


class FollowAlert(Plugin):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # Follows seen since the plugin started (lost on reload: a count
        # that must last would live in `kv`).
        self.followers = 0

    def on_event(self, event):
        if not isinstance(event.data, EventData_Follow):
            return []
        self.followers += 1
        name = who(event)
        return [
            show_alert(
                alert(
                    "New follower!",
                    f"{name} just followed",
                    tts=f"Thanks for the follow, {name}!",
                )
            )
        ]


# What componentize-py exports: the `handler` interface of the contract.
Handler = export(FollowAlert, kinds=[kinds.FOLLOW])
