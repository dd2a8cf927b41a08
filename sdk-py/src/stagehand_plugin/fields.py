"""An event's fields by name, as text: what ``{name}`` means in a template
and what conditions compare.

The names are those of the event's JSON form (the "details" the API shows,
listed per kind in the kinds reference), so a template written against the
dashboard's events works unchanged: ``{username}``, ``{bits}``, ``{tier}``,
``{reward.title}``, ... They are the same as the Rust SDK's ``fields``.

Besides the kind's own fields: ``{username}`` is whom to name (see
``who``), ``{kind}`` the kind, ``{tier_name}`` the tier as people say it
("Tier 1", see ``text.tier_name``; a donation's own tier name for
donations), ``{data.…}`` a dotted path into a Discord event's ``data``
object, ``{viewer.login}``, ``{viewer.id}`` and ``{viewer.display_name}``
the event's viewer. For kinds Stagehand does not
model (``EventData_Other``), any field of their JSON by dotted path
(``{top.0.user}``).
"""

import json
import re
from typing import Any, Optional

from . import text
from .types import (
    Event,
    EventData_Ban,
    EventData_ChatMessage,
    EventData_Cheer,
    EventData_Clip,
    EventData_Discord,
    EventData_Donation,
    EventData_Follow,
    EventData_Gift,
    EventData_Other,
    EventData_Raid,
    EventData_Redemption,
    EventData_Resub,
    EventData_StreamOffline,
    EventData_StreamOnline,
    EventData_Subscribe,
    EventData_SubscriptionEnd,
)

__all__ = ["field", "lookup", "who", "named", "message"]

_INDEX = re.compile(r"\+?[0-9]+")


def _num(n: Optional[int]) -> Optional[str]:
    return None if n is None else str(n)


def _flag(b: bool) -> str:
    return "true" if b else "false"


# Per data class: JSON name -> how to read it from the variant's payload.
_FIELDS = {
    EventData_Follow: {"followed_at": lambda f: _num(f.followed_at_ms)},
    EventData_Ban: {
        "is_permanent": lambda b: _flag(b.permanent),
        "duration_seconds": lambda b: _num(b.duration_seconds),
        "expires_at": lambda b: _num(b.expires_at_ms),
        "reason": lambda b: b.reason,
        "moderator_username": lambda b: b.moderator_name,
        "moderator_id": lambda b: b.moderator_id,
    },
    EventData_Subscribe: {
        "tier": lambda s: _num(s.tier),
        "is_gift": lambda s: _flag(s.is_gift),
    },
    EventData_Resub: {
        "tier": lambda r: _num(r.tier),
        "cumulative_months": lambda r: _num(r.cumulative_months),
        "message": lambda r: r.message,
    },
    EventData_SubscriptionEnd: {"tier": lambda s: _num(s.tier)},
    EventData_Gift: {
        "tier": lambda g: _num(g.tier),
        "total": lambda g: _num(g.total),
        "is_anonymous": lambda g: _flag(g.anonymous),
    },
    EventData_Cheer: {
        "bits": lambda c: _num(c.bits),
        "message": lambda c: c.message,
        "is_anonymous": lambda c: _flag(c.anonymous),
    },
    EventData_Raid: {"viewers": lambda r: _num(r.viewers)},
    EventData_Redemption: {
        "reward.id": lambda r: r.reward.id,
        "reward.title": lambda r: r.reward.title,
        "reward.cost": lambda r: _num(r.reward.cost),
        "reward.prompt": lambda r: r.reward.prompt,
        "user_input": lambda r: r.user_input,
        "status": lambda r: r.status,
    },
    EventData_ChatMessage: {"text": lambda c: c.text, "message": lambda c: c.text},
    EventData_StreamOnline: {
        "type": lambda s: s.stream_type,
        "started_at": lambda s: _num(s.started_at_ms),
    },
    EventData_Clip: {
        "clip_title": lambda c: c.title,
        "clip_url": lambda c: c.url,
        "creator_username": lambda c: c.creator_name,
        "view_count": lambda c: _num(c.view_count),
    },
    EventData_Donation: {
        "amount": lambda d: d.amount,
        "currency": lambda d: d.currency,
        "message": lambda d: d.message,
        "is_public": lambda d: _flag(d.is_public),
        "source": lambda d: d.source,
        "donation_type": lambda d: d.donation_type,
    },
    EventData_Discord: {
        "guild_id": lambda d: d.guild_id,
        "user_id": lambda d: d.user_id,
        "giveaway_id": lambda d: d.giveaway_id,
        "prize": lambda d: d.prize,
        "winner_id": lambda d: d.winner_id,
        "ticket_id": lambda d: d.ticket_id,
    },
}


def field(event: Event, name: str) -> Optional[str]:
    """The field ``name`` of ``event`` as text, or None if it has none.

    Made to be a template's lookup:
    ``render("{username} cheered {bits}", lambda n: field(event, n))``.
    """
    if name == "username":
        return who(event)
    if name == "kind":
        return event.kind
    if name == "tier_name":
        if isinstance(event.data, EventData_Donation):
            return event.data.value.tier_name
        tier = field(event, "tier")
        return None if tier is None else text.tier_name(tier)
    if name in ("viewer.login", "viewer.id", "viewer.display_name"):
        if event.viewer is None:
            return None
        return getattr(event.viewer, name[len("viewer.") :])
    data = event.data
    if isinstance(data, EventData_Other):
        value = _parse(data.value)
        return None if value is None else lookup(value, name)
    if isinstance(data, EventData_Discord) and name.startswith("data."):
        value = _parse(data.value.data)
        return None if value is None else lookup(value, name[len("data.") :])
    read = _FIELDS.get(type(data), {}).get(name)
    return None if read is None else read(data.value)


def lookup(value: Any, path: str) -> Optional[str]:
    """A field of parsed JSON by dotted path (``reward.title``,
    ``badges.0.id``) as text: strings as they are, numbers and booleans
    printed as JSON prints them; null, objects and arrays have no text."""
    for key in path.split("."):
        if isinstance(value, dict):
            if key not in value:
                return None
            value = value[key]
        elif isinstance(value, list):
            if not _INDEX.fullmatch(key):
                return None
            index = int(key)
            if index >= len(value):
                return None
            value = value[index]
        else:
            return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _flag(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None


def _parse(text_: str) -> Any:
    try:
        return json.loads(text_)
    except ValueError:
        return None


def named(event: Event) -> Optional[str]:
    """Whom this event names, as ``who``, but None rather than "Someone" when
    nothing names anyone (to tell "nobody" apart in a message)."""
    data = event.data
    name = None
    if isinstance(data, EventData_Gift) and data.value.anonymous:
        name = "An anonymous gifter"
    elif isinstance(data, EventData_Cheer) and data.value.anonymous:
        name = "Anonymous"
    elif isinstance(data, EventData_Clip):
        name = data.value.creator_name
    elif isinstance(data, (EventData_StreamOnline, EventData_StreamOffline)):
        name = data.value.broadcaster_name
    elif isinstance(data, (EventData_Donation, EventData_Discord)):
        name = data.value.username
    elif isinstance(data, EventData_Other):
        parsed = _parse(data.value)
        name = None if parsed is None else lookup(parsed, "username")
    if name is None or not name.strip():
        name = event.viewer.display_name if event.viewer is not None else None
    if name is None or not name.strip():
        return None
    return name


def who(event: Event) -> str:
    """Whom an alert or post about this event should name: "An anonymous
    gifter" and "Anonymous" for anonymous gifts and cheers, the clip's
    creator, the broadcaster for stream events, a donation's giver or a
    Discord member (by their service's name), else the event's viewer, and
    "Someone" when nothing names anyone. Never empty, so a message
    always reads well."""
    name = named(event)
    return "Someone" if name is None else name


def message(event: Event) -> Optional[str]:
    """The message a viewer attached (resub, cheer, chat, redemption input,
    a public donation's), or None when there is none or it is blank. A
    private donation's message is for the streamer only: None here (read
    ``data.value.message`` to show it privately)."""
    data = event.data
    if isinstance(data, (EventData_Resub, EventData_Cheer)):
        text_ = data.value.message
    elif isinstance(data, EventData_ChatMessage):
        text_ = data.value.text
    elif isinstance(data, EventData_Redemption):
        text_ = data.value.user_input
    elif isinstance(data, EventData_Donation):
        if not data.value.is_public:
            return None
        text_ = data.value.message
    else:
        return None
    return text_ if text_.strip() else None
