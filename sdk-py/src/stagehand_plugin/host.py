"""What a plugin may ask of the host: logging, its own key-value storage,
the time and its settings.

Inside a component these call the host (WIT interface ``host``); in tests
they reach the fake host of ``stagehand_plugin.testing``.

Key-value reads are cached for the life of the instance (only the plugin
writes its keys, so a value read once stays valid), and a call's writes are
sent in one ``kv-write`` when the call returns: every host call has a cost,
and one batch is all or none. If the plugin raises, the call's writes are
dropped, as the host drops them when a call traps.
"""

import json
import re
from typing import Any, Dict, List, Optional, Union

from ._contract import host as _imports
from .types import KvChange, Level

__all__ = [
    "log",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "kv",
    "kv_get",
    "kv_set",
    "kv_delete",
    "kv_get_int",
    "now_ms",
    "settings",
]

_WHOLE = re.compile(r"\+?[0-9]+")

# What this instance knows of its kv data (None: known to be absent), and
# the writes of the current call, in order.
_values: Dict[str, Optional[str]] = {}
_pending: List[KvChange] = []


class _Log:
    """``log(level, message)``, or ``log.info(message)`` and friends."""

    def __call__(self, level: Union[Level, str], message: str) -> None:
        """Writes a line to the host's log, tagged with the plugin's name.
        The host cuts lines at 2 KiB and limits their rate; ``level`` is a
        ``Level`` or its name ("info")."""
        if isinstance(level, str):
            level = Level[level.upper()]
        _imports.log(level, str(message))

    def trace(self, message: str) -> None:
        """Logs at trace level (hidden unless the host asks for it)."""
        self(Level.TRACE, message)

    def debug(self, message: str) -> None:
        """Logs at debug level."""
        self(Level.DEBUG, message)

    def info(self, message: str) -> None:
        """Logs at info level."""
        self(Level.INFO, message)

    def warn(self, message: str) -> None:
        """Logs at warn level."""
        self(Level.WARN, message)

    def error(self, message: str) -> None:
        """Logs at error level."""
        self(Level.ERROR, message)


#: The host's log: ``log(Level.INFO, "...")`` or ``log.info("...")``.
log = _Log()
trace = log.trace
debug = log.debug
info = log.info
warn = log.warn
error = log.error


def kv_get(key: str) -> Optional[str]:
    """This plugin's stored value for ``key``, or None. Stored values
    survive reloads, restarts and faults, unlike the plugin's attributes."""
    if key in _values:
        return _values[key]
    value = _imports.kv_get(key)
    _values[key] = value
    return value


def kv_set(key: str, value: str) -> None:
    """Stores ``value`` (text: use ``str(n)`` or ``json.dumps``) under
    ``key``. It reaches the host with the call's other writes when the call
    returns, and not at all if the call raises."""
    if not isinstance(value, str):
        raise TypeError(
            f"kv values are text, not {type(value).__name__}: store str(value) or json.dumps(value)"
        )
    _values[key] = value
    _pending.append(KvChange(key=key, value=value))


def kv_delete(key: str) -> None:
    """Removes ``key`` (with the call's other writes)."""
    _values[key] = None
    _pending.append(KvChange(key=key, value=None))


def kv_get_int(key: str) -> int:
    """Reads a counter stored with ``kv_set`` (0 when absent or not a whole
    number), so counting is ``kv_set(k, str(kv_get_int(k) + 1))``."""
    value = kv_get(key)
    if value is None or not _WHOLE.fullmatch(value):
        return 0
    number = int(value)
    return number if number < 1 << 64 else 0


class _Kv:
    """The plugin's key-value storage as one object: ``kv.get``, ``kv.set``,
    ``kv.delete``, ``kv.get_int`` (the same as the ``kv_*`` functions)."""

    get = staticmethod(kv_get)
    set = staticmethod(kv_set)
    delete = staticmethod(kv_delete)
    get_int = staticmethod(kv_get_int)


#: The plugin's key-value storage: ``kv.get(k)``, ``kv.set(k, v)``, ...
kv = _Kv()


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC (the host's clock: use it
    rather than ``time.time()`` so tests can set it)."""
    return _imports.now_ms()


def settings() -> Dict[str, Any]:
    """The plugin's current settings, parsed (an empty dict if unreadable).
    The plugin's ``__init__`` already gets them; this is for the rare code
    that needs them elsewhere."""
    try:
        value = json.loads(_imports.settings())
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _flush() -> None:
    """Sends the call's kv writes in one batch (the SDK calls it after every
    entry point returns)."""
    if _pending:
        changes = list(_pending)
        _pending.clear()
        _imports.kv_write(changes)


def _discard() -> None:
    """Drops the call's kv writes after it raised, and forgets what they
    changed in the cache (values are read from the host again)."""
    for change in _pending:
        _values.pop(change.key, None)
    _pending.clear()


def _forget() -> None:
    """Forgets the cache and pending writes (the fake host's reset)."""
    _values.clear()
    _pending.clear()
