"""{{name}}: an alert for every new follower. Start here and make it yours.

Import everything the plugin uses at the top of a module: the build runs
this file once and keeps what it imported, and a module first imported
while handling an event is not found.
"""

from stagehand_plugin import Plugin, Settings, alert, export, kinds, show_alert, who
from stagehand_plugin.types import EventData_Follow


class FollowAlert(Plugin):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # The alert's title, from plugin.toml's [settings].
        self.title = settings.get_str("title", "New follower!")
        # Follows since the plugin started (kept between events; use `kv`
        # for what must survive a reload).
        self.follows = 0

    def on_event(self, event):
        if not isinstance(event.data, EventData_Follow):
            return []
        self.follows += 1
        message = f"{who(event)} just followed (#{self.follows})"
        return [show_alert(alert(self.title, message))]


# The component's entry points (what `python -m stagehand_plugin.build` exports).
Handler = export(FollowAlert, kinds=[kinds.FOLLOW])
