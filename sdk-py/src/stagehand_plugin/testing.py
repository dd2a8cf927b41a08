"""A fake host for tests on ordinary Python (pytest): key-value storage,
captured logs, a settable clock and settings, plus builders for events.

Importing this module replaces the host functions (which only exist inside
a component) with the fake; ``reset()`` starts a test from a clean one. A
plugin is tested by building it and calling its methods::

    from stagehand_plugin import Settings, testing

    def test_a_follow_shows_an_alert():
        testing.reset()
        plugin = FollowAlert(Settings())
        [action] = plugin.on_event(testing.follow("Ann"))
        assert action.value.title == "New follower!"
"""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import host as _host
from . import kinds
from . import plugin as _plugin
from ._contract import IN_COMPONENT
from ._contract import host as _imports
from .types import (
    Badge,
    Ban,
    ChatMessage,
    Cheer,
    Clip,
    Discord,
    Donation,
    Event,
    EventData,
    EventData_Ban,
    EventData_ChatMessage,
    EventData_Cheer,
    EventData_Clip,
    EventData_Discord,
    EventData_Donation,
    EventData_Follow,
    EventData_Gift,
    EventData_ModeratorAdd,
    EventData_ModeratorRemove,
    EventData_Other,
    EventData_Raid,
    EventData_Redemption,
    EventData_Resub,
    EventData_StreamOffline,
    EventData_StreamOnline,
    EventData_Subscribe,
    EventData_SubscriptionEnd,
    EventData_TimeoutEnd,
    EventData_Unban,
    EventData_Unfollow,
    EventData_VipAdd,
    EventData_VipRemove,
    Follow,
    Gift,
    Info,
    Level,
    Raid,
    Redemption,
    Resub,
    Reward,
    Source,
    StreamOffline,
    StreamOnline,
    Subscribe,
    SubscriptionEnd,
    Viewer,
)

if IN_COMPONENT:
    raise ImportError("stagehand_plugin.testing is for tests: a component talks to the real host")


@dataclass
class FakeHost:
    """The fake host's state."""

    kv: Dict[str, str] = field(default_factory=dict)
    logs: List[Tuple[Level, str]] = field(default_factory=list)
    now_ms: int = 1_700_000_000_000
    #: JSON object text, as the host passes it.
    settings: str = "{}"
    #: How many ``kv-write`` batches the plugin sent (one per call at most).
    kv_writes: int = 0


_fake = FakeHost()


def _log(level: Level, message: str) -> None:
    _fake.logs.append((level, message))


def _kv_get(key: str) -> Optional[str]:
    return _fake.kv.get(key)


def _kv_set(key: str, value: str) -> None:
    _fake.kv[key] = value


def _kv_delete(key: str) -> None:
    _fake.kv.pop(key, None)


def _kv_write(changes: list) -> None:
    _fake.kv_writes += 1
    for change in changes:
        if change.value is None:
            _fake.kv.pop(change.key, None)
        else:
            _fake.kv[change.key] = change.value


def _now_ms() -> int:
    return _fake.now_ms


def _settings() -> str:
    return _fake.settings


_imports.log = _log
_imports.kv_get = _kv_get
_imports.kv_set = _kv_set
_imports.kv_delete = _kv_delete
_imports.kv_write = _kv_write
_imports.now_ms = _now_ms
_imports.settings = _settings


def fake_host() -> FakeHost:
    """The fake host itself, to read or change anything (after changing
    ``kv`` directly, call ``reset_kv_cache()``: the SDK caches reads)."""
    return _fake


def reset() -> None:
    """Starts a test from a clean fake host: no kv, no logs, the clock at
    1,700,000,000,000 ms, settings ``{}``, and no exported plugin
    configured (as in a fresh instance)."""
    global _fake
    _fake = FakeHost()
    _host._forget()
    _plugin._reset_all()


def reset_kv_cache() -> None:
    """Forgets the SDK's cache of kv reads and unsent writes, as a new
    instance would (to test what survives a reload)."""
    _host._forget()


def set_now_ms(ms: int) -> None:
    """Sets the fake clock (what ``now_ms()`` returns)."""
    _fake.now_ms = ms


def set_settings(settings: Union[Dict[str, Any], str]) -> None:
    """Sets what ``host.settings()`` returns (a dict, or JSON text)."""
    _fake.settings = settings if isinstance(settings, str) else json.dumps(settings)


def set_kv(key: str, value: Optional[str]) -> None:
    """Stores (None: removes) a value as if an earlier instance had."""
    _host._flush()
    if value is None:
        _fake.kv.pop(key, None)
    else:
        _fake.kv[key] = value
    _host._values.pop(key, None)


def kv() -> Dict[str, str]:
    """The stored key-value pairs, including writes of a plugin method
    called directly (which are sent when an entry point returns)."""
    _host._flush()
    return dict(_fake.kv)


def logs() -> List[Tuple[Level, str]]:
    """Log lines written so far, as (Level, message)."""
    return list(_fake.logs)


def describe(handler: type) -> Info:
    """What the host will learn from ``describe`` about an exported plugin
    (``Handler = export(...)``): the kinds (``"*"`` when none were named),
    the roles implemented and the roles called."""
    return handler().describe()


# Events -------------------------------------------------------------------


def event(kind: str, viewer_: Optional[Viewer], data: EventData) -> Event:
    """An event of ``kind`` carrying ``data``, for channel "1000", from the
    dashboard's test button (source ``TEST``), about ``viewer_``."""
    return Event(
        id=f"test-{kind}-{_fake.now_ms}",
        kind=kind,
        source=Source.TEST,
        channel_id="1000",
        viewer=viewer_,
        occurred_at_ms=_fake.now_ms,
        data=data,
    )


def viewer(id: str, name: str) -> Viewer:
    """A viewer whose login and display name derive from ``name``."""
    return Viewer(id=id, login=name.strip().lower(), display_name=name)


def _named(name: str) -> Viewer:
    return viewer("4242", name)


def follow(name: str) -> Event:
    """``name`` followed."""
    return event(kinds.FOLLOW, _named(name), EventData_Follow(Follow(followed_at_ms=_fake.now_ms)))


def subscribe(name: str, tier: int = 1000) -> Event:
    """``name`` subscribed at ``tier`` (1000, 2000, 3000)."""
    return event(kinds.SUBSCRIBE, _named(name), EventData_Subscribe(Subscribe(tier=tier, is_gift=False)))


def gifted_sub(name: str, tier: int = 1000) -> Event:
    """``name`` was gifted a sub at ``tier``."""
    return event(kinds.SUBSCRIBE, _named(name), EventData_Subscribe(Subscribe(tier=tier, is_gift=True)))


def subscription_end(name: str, tier: int = 1000) -> Event:
    """``name``'s sub at ``tier`` ended."""
    return event(kinds.SUBSCRIPTION_END, _named(name), EventData_SubscriptionEnd(SubscriptionEnd(tier=tier)))


def ban(name: str, reason: str = "") -> Event:
    """``name`` was banned for good by "Mod", for ``reason``."""
    data = Ban(
        permanent=True,
        duration_seconds=None,
        expires_at_ms=None,
        reason=reason or None,
        moderator_name="Mod",
        moderator_id="7",
    )
    return event(kinds.BAN, _named(name), EventData_Ban(data))


def timeout(name: str, seconds: int) -> Event:
    """``name`` was timed out for ``seconds`` by "Mod"."""
    data = Ban(
        permanent=False,
        duration_seconds=seconds,
        expires_at_ms=_fake.now_ms + seconds * 1000,
        reason=None,
        moderator_name="Mod",
        moderator_id="7",
    )
    return event(kinds.BAN, _named(name), EventData_Ban(data))


_ABOUT = {
    kinds.UNFOLLOW: EventData_Unfollow,
    kinds.UNBAN: EventData_Unban,
    kinds.TIMEOUT_END: EventData_TimeoutEnd,
    kinds.VIP_ADD: EventData_VipAdd,
    kinds.VIP_REMOVE: EventData_VipRemove,
    kinds.MODERATOR_ADD: EventData_ModeratorAdd,
    kinds.MODERATOR_REMOVE: EventData_ModeratorRemove,
}


def about(kind: str, name: str) -> Event:
    """An event about ``name`` that carries nothing more: unfollow, unban,
    timeout end, VIP and moderator changes (``kind`` says which)."""
    if kind not in _ABOUT:
        raise ValueError(f"{kind} carries data; use its own builder")
    return event(kind, _named(name), _ABOUT[kind]())


def stream_online(broadcaster: str) -> Event:
    """``broadcaster`` went live."""
    data = StreamOnline(broadcaster_name=broadcaster, stream_type="live", started_at_ms=_fake.now_ms)
    return event(kinds.STREAM_ONLINE, None, EventData_StreamOnline(data))


def stream_offline(broadcaster: str) -> Event:
    """``broadcaster`` went offline."""
    return event(kinds.STREAM_OFFLINE, None, EventData_StreamOffline(StreamOffline(broadcaster_name=broadcaster)))


def clip(creator: str, title: str) -> Event:
    """``creator`` made a clip called ``title``."""
    data = Clip(title=title, url="https://clips.twitch.tv/Example", creator_name=creator, view_count=0)
    return event(kinds.CLIP_CREATED, None, EventData_Clip(data))


def resub(name: str, months: int, message: str = "") -> Event:
    """``name`` resubscribed (tier 1) for ``months`` with ``message``."""
    data = Resub(tier=1000, cumulative_months=months, message=message)
    return event(kinds.RESUB, _named(name), EventData_Resub(data))


def gift(gifter: Optional[str], total: int) -> Event:
    """``gifter`` (None: anonymous) gave ``total`` tier 1 subs."""
    data = Gift(tier=1000, total=total, anonymous=gifter is None)
    return event(kinds.GIFT, None if gifter is None else _named(gifter), EventData_Gift(data))


def cheer(name: str, bits: int, message: str = "") -> Event:
    """``name`` (empty: anonymous) cheered ``bits`` with ``message``."""
    anonymous = name == ""
    data = Cheer(bits=bits, message=message, anonymous=anonymous)
    return event(kinds.CHEER, None if anonymous else _named(name), EventData_Cheer(data))


def raid(name: str, viewers: int) -> Event:
    """``name`` raided with ``viewers``."""
    return event(kinds.RAID, _named(name), EventData_Raid(Raid(viewers=viewers)))


def redemption(name: str, title: str, cost: int, input: str = "") -> Event:
    """``name`` redeemed ``title`` for ``cost`` points, typing ``input``."""
    data = Redemption(
        reward=Reward(id="reward-1", title=title, cost=cost, prompt=""),
        user_input=input,
        status="unfulfilled",
    )
    return event(kinds.REDEMPTION, _named(name), EventData_Redemption(data))


def chat(name: str, text: str, badges: Sequence[str] = ()) -> Event:
    """``name`` said ``text`` in chat, with ``badges`` (set ids, e.g.
    "moderator")."""
    data = ChatMessage(text=text, badges=[Badge(set_id=b, id="1", info="") for b in badges])
    return event(kinds.CHAT_MESSAGE, _named(name), EventData_ChatMessage(data))


def other(kind: str, fields: Dict[str, Any]) -> Event:
    """An event of a kind Stagehand does not model, with its JSON fields."""
    return event(kind, None, EventData_Other(json.dumps(fields)))


def donation(name: str, amount: str, currency: str, message: str = "", is_public: bool = True) -> Event:
    """``name`` gave ``amount`` (a decimal string like "5.00") in
    ``currency`` through Ko-fi, with ``message``, publicly or not. Source
    ``EXTERNAL``, and no viewer: a Ko-fi name is not a Twitch user."""
    data = Donation(
        username=name,
        amount=amount,
        currency=currency,
        message=message,
        is_public=is_public,
        source="kofi",
        donation_type="Donation",
        tier_name="",
    )
    e = event(kinds.DONATION, None, EventData_Donation(data))
    e.source = Source.EXTERNAL
    return e


def discord(kind: str, data: Optional[Dict[str, Any]] = None) -> Event:
    """A Discord event of ``kind`` (one of the ``kinds.DISCORD_*``) as the
    bot sent it: ``data`` is its ``data`` object, with the bot's camelCase
    keys (``userId``, ``username``, ``giveawayId``, ``prize``, ``winnerId``,
    ``ticketId``), which fill the record's fields as the host does. Source
    ``EXTERNAL``, no viewer."""
    data = {} if data is None else data

    def text_(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    record = Discord(
        guild_id="900",
        user_id=text_("userId"),
        username=text_("username"),
        giveaway_id=text_("giveawayId"),
        prize=text_("prize"),
        winner_id=text_("winnerId"),
        ticket_id=text_("ticketId"),
        data=json.dumps(data),
    )
    e = event(kind, None, EventData_Discord(record))
    e.source = Source.EXTERNAL
    return e
