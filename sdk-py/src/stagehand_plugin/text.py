"""Small text helpers most alert and formatter plugins need: tier names and
``{name}`` templates (fill them from ``field(event, name)``).

The rules are those of the Rust SDK's ``text`` module, test case for test
case, so a template a streamer wrote behaves the same in every plugin.
"""

import re
from typing import Callable, Mapping, Optional, Union

__all__ = ["tier_name", "render", "is_name"]

_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_BRACE = re.compile(r"[{}]")

Lookup = Union[Callable[[str], Optional[object]], Mapping[str, object]]


def tier_name(tier: Union[str, int]) -> str:
    """Twitch tier codes as people say them: "1000" -> "Tier 1", "prime" ->
    "Prime"; anything else as it is (trimmed). Alerts read better with the
    spoken name than with Twitch's code."""
    t = str(tier).strip()
    if t in ("1000", "2000", "3000"):
        return f"Tier {t[0]}"
    if t.isascii() and t.lower() == "prime":
        return "Prime"
    return t


def is_name(name: str) -> bool:
    """Whether ``name`` can be a placeholder: letters, digits and ``_``, with
    ``.`` between parts for nested fields (``reward.title``). Anything else
    between braces is left as text, so CSS or JSON in a template survives."""
    return _NAME.fullmatch(name) is not None


def render(template: str, lookup: Lookup) -> str:
    """Fills each ``{name}`` with ``lookup(name)`` (a function, or a dict).

    A name the lookup does not know (``None``) becomes the empty string, so
    a typo shows as a gap rather than as raw braces on stream. ``{{`` and
    ``}}`` are literal braces, and a ``{`` that does not start a placeholder
    (``{ hi }``, a lone ``{``) is kept as it is. Values are inserted as they
    are, never expanded again: a viewer typing ``{username}`` cannot inject
    a placeholder.
    """
    get = lookup.get if isinstance(lookup, Mapping) else lookup
    out = []
    i = 0
    while True:
        found = _BRACE.search(template, i)
        if found is None:
            out.append(template[i:])
            return "".join(out)
        j = found.start()
        out.append(template[i:j])
        if template.startswith("{{", j) or template.startswith("}}", j):
            out.append(template[j])
            i = j + 2
            continue
        hole = _placeholder(template, j)
        if hole is None:
            out.append(template[j])
            i = j + 1
            continue
        name, i = hole
        out.append(_text(get(name)))


def _placeholder(template: str, at: int) -> Optional[tuple]:
    """``{name}`` at ``at`` -> (name, index after the ``}``), if it is one."""
    if template[at] != "{":
        return None
    end = template.find("}", at + 1)
    if end < 0:
        return None
    name = template[at + 1 : end]
    return (name, end + 1) if is_name(name) else None


def _text(value: object) -> str:
    """A looked-up value as template text: nothing for None, JSON's spelling
    for booleans (as the event fields print them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
