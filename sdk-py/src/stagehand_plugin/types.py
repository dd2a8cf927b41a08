"""The contract's types (WIT interface ``types`` of ``stagehand:plugin@0.3.0``).

They are componentize-py's generated classes, re-exported under one roof so
a plugin imports them from the SDK rather than from ``wit_world``. How WIT
maps to Python here:

- records are dataclasses with snake_case fields (``display_name``);
- enums are ``Enum`` classes with UPPER_CASE members (``Role.ACTIONS``);
- a variant is a ``Union`` of one dataclass per case, named
  ``<Variant>_<Case>`` (``EventData_Follow``), whose payload is ``.value``;
  a case without payload is an empty dataclass (``EventData_Unfollow()``);
- ``option<T>`` is ``Optional[T]`` (``None`` for none);
- ``u32`` and ``u64`` are plain ``int``, which must fit the WIT type
  (``u32``: 0 to 4,294,967,295);
- ``result<T, E>`` returns ``T`` and raises ``Err(E)``.

Match on the variant's class::

    match event.data:
        case EventData_Follow(follow): ...
        case EventData_Cheer(cheer) if cheer.bits >= 100: ...
"""

from ._contract import types as _t

Source = _t.Source
Viewer = _t.Viewer
Follow = _t.Follow
Ban = _t.Ban
Subscribe = _t.Subscribe
Resub = _t.Resub
SubscriptionEnd = _t.SubscriptionEnd
Gift = _t.Gift
Cheer = _t.Cheer
Raid = _t.Raid
Reward = _t.Reward
Redemption = _t.Redemption
Badge = _t.Badge
ChatMessage = _t.ChatMessage
StreamOnline = _t.StreamOnline
StreamOffline = _t.StreamOffline
Clip = _t.Clip
Donation = _t.Donation
Discord = _t.Discord
EventData_Follow = _t.EventData_Follow
EventData_Unfollow = _t.EventData_Unfollow
EventData_Ban = _t.EventData_Ban
EventData_Unban = _t.EventData_Unban
EventData_TimeoutEnd = _t.EventData_TimeoutEnd
EventData_VipAdd = _t.EventData_VipAdd
EventData_VipRemove = _t.EventData_VipRemove
EventData_ModeratorAdd = _t.EventData_ModeratorAdd
EventData_ModeratorRemove = _t.EventData_ModeratorRemove
EventData_Subscribe = _t.EventData_Subscribe
EventData_Resub = _t.EventData_Resub
EventData_SubscriptionEnd = _t.EventData_SubscriptionEnd
EventData_Gift = _t.EventData_Gift
EventData_Cheer = _t.EventData_Cheer
EventData_Raid = _t.EventData_Raid
EventData_Redemption = _t.EventData_Redemption
EventData_ChatMessage = _t.EventData_ChatMessage
EventData_StreamOnline = _t.EventData_StreamOnline
EventData_StreamOffline = _t.EventData_StreamOffline
EventData_Clip = _t.EventData_Clip
EventData_Donation = _t.EventData_Donation
EventData_Discord = _t.EventData_Discord
EventData_Other = _t.EventData_Other
EventData = _t.EventData
Event = _t.Event
Display = _t.Display
Alert = _t.Alert
TtsMute = _t.TtsMute
TtsCooldown = _t.TtsCooldown
WebhookRequest = _t.WebhookRequest
Action_ShowAlert = _t.Action_ShowAlert
Action_Speak = _t.Action_Speak
Action_SendChat = _t.Action_SendChat
Action_MuteTts = _t.Action_MuteTts
Action_UnmuteTts = _t.Action_UnmuteTts
Action_CooldownTts = _t.Action_CooldownTts
Action_ClearTts = _t.Action_ClearTts
Action_Webhook = _t.Action_Webhook
Action = _t.Action
Role = _t.Role
Info = _t.Info
Level = _t.Level
KvChange = _t.KvChange

__all__ = [
    "Source",
    "Viewer",
    "Follow",
    "Ban",
    "Subscribe",
    "Resub",
    "SubscriptionEnd",
    "Gift",
    "Cheer",
    "Raid",
    "Reward",
    "Redemption",
    "Badge",
    "ChatMessage",
    "StreamOnline",
    "StreamOffline",
    "Clip",
    "Donation",
    "Discord",
    "EventData_Follow",
    "EventData_Unfollow",
    "EventData_Ban",
    "EventData_Unban",
    "EventData_TimeoutEnd",
    "EventData_VipAdd",
    "EventData_VipRemove",
    "EventData_ModeratorAdd",
    "EventData_ModeratorRemove",
    "EventData_Subscribe",
    "EventData_Resub",
    "EventData_SubscriptionEnd",
    "EventData_Gift",
    "EventData_Cheer",
    "EventData_Raid",
    "EventData_Redemption",
    "EventData_ChatMessage",
    "EventData_StreamOnline",
    "EventData_StreamOffline",
    "EventData_Clip",
    "EventData_Donation",
    "EventData_Discord",
    "EventData_Other",
    "EventData",
    "Event",
    "Display",
    "Alert",
    "TtsMute",
    "TtsCooldown",
    "WebhookRequest",
    "Action_ShowAlert",
    "Action_Speak",
    "Action_SendChat",
    "Action_MuteTts",
    "Action_UnmuteTts",
    "Action_CooldownTts",
    "Action_ClearTts",
    "Action_Webhook",
    "Action",
    "Role",
    "Info",
    "Level",
    "KvChange",
]
