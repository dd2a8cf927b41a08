"""The plugin class and ``export``, which turns it into the component's
entry points (WIT interface ``handler``)."""

import traceback
import typing
from typing import Any, Iterable, List, Optional, Sequence, Union

from . import host
from ._contract import Err, exports
from .settings import Settings
from .types import Action, Alert, Display, Event, Info, Role

__all__ = ["Plugin", "export", "NOT_CONFIGURED"]

#: The error ``on_event`` answers before ``configure`` built the plugin.
NOT_CONFIGURED = "the plugin was not configured (its __init__ failed or was never called)"

# Exceptions raised on purpose with a message for the streamer: their
# message alone is the error. Any other kind (a bug: KeyError, TypeError,
# ...) is named, and its traceback logged, so it can be found.
_DELIBERATE = (ValueError, RuntimeError, Err)


class Plugin:
    """A plugin: built from its settings, then called for the roles it plays.

    Override the methods of the roles you need; ``export`` sees which:

    - ``format(event)`` (formatter role): the dashboard's display of an
      event (``display(...)``), or None to leave it to other formatters;
    - ``on_event(event)`` (actions role): the actions for an event (a list;
      None means none). Raise to report an error: its message is logged and
      shown to the streamer, and the event itself is kept;
    - ``render(alert)`` (renderer role): the restyled alert, or None to
      leave it as it is.

    One instance lives as long as the plugin version is loaded, so
    attributes keep state between events. That state is lost on a reload,
    a settings change and after a fault; keep what must last with
    ``kv.set``.
    """

    def __init__(self, settings: Settings) -> None:
        """Builds the plugin from its settings (``plugin.toml``'s
        ``[settings]``, or what the streamer saved). Raise (ValueError
        with a message that says what to fix) to refuse bad settings: the
        plugin then does not start and the streamer sees the message."""
        self.settings = settings

    def format(self, event: Event) -> Optional[Display]:
        """Formatter role: how the dashboard shows ``event``."""
        return None

    def on_event(self, event: Event) -> Optional[Iterable[Action]]:
        """Actions role: what to do about ``event``."""
        return []

    def render(self, alert: Alert) -> Optional[Alert]:
        """Renderer role: restyle ``alert`` before it is shown."""
        return None


_ACTION_TYPES = typing.get_args(Action)

_ROLE_METHODS = (("format", Role.FORMATTER), ("on_event", Role.ACTIONS), ("render", Role.RENDERER))

# Every exported plugin's live instance holder, so the fake host's reset()
# can forget them as a fresh instance would.
_STATES: List["_State"] = []


class _State:
    def __init__(self) -> None:
        self.plugin: Any = None


def implemented(plugin_class: type) -> List[Role]:
    """The roles ``plugin_class`` has code for, in role order: the methods it
    defines or overrides (the host warns about one it will not call)."""
    roles = []
    for name, role in _ROLE_METHODS:
        method = getattr(plugin_class, name, None)
        if callable(method) and method is not getattr(Plugin, name):
            roles.append(role)
    return roles


def error_text(e: BaseException) -> str:
    """What the streamer reads for an exception: the message of a deliberate
    one (ValueError, RuntimeError, Err), else the exception's type and
    message, since a bare "'title'" from a KeyError says nothing."""
    if isinstance(e, Err):
        return str(e.value)
    message = str(e)
    if isinstance(e, _DELIBERATE) and message:
        return message
    return f"{type(e).__name__}: {message}" if message else type(e).__name__


def _report(where: str, e: BaseException) -> None:
    """Logs a plugin's exception: the line a streamer reads first (the host
    cuts long lines), then the traceback when it looks like a bug."""
    line = f"{where}: {error_text(e)}"
    if not isinstance(e, _DELIBERATE):
        line += "\n" + "".join(traceback.format_exception(e)).strip()
    host.log.error(line)


def _actions(out: Optional[Iterable[Action]]) -> List[Action]:
    """``on_event``'s answer as the list the contract wants, checked here so a
    slip (an Alert not wrapped in ``show_alert``) is an error that says so
    rather than a trap while handing it to the host."""
    if out is None:
        return []
    if isinstance(out, _ACTION_TYPES) or not isinstance(out, Iterable):
        raise TypeError(f"on_event must return a list of actions, not {type(out).__name__}")
    actions = list(out)
    for action in actions:
        if not isinstance(action, _ACTION_TYPES):
            hint = ": wrap it with show_alert(...)" if isinstance(action, Alert) else ""
            raise TypeError(f"on_event returned {type(action).__name__}, which is not an action{hint}")
    return actions


def _checked(what: str, out: Any, cls: type) -> Any:
    """A formatter's or renderer's answer, if it is None or a ``cls``."""
    if out is not None and not isinstance(out, cls):
        raise TypeError(f"{what} must return {cls.__name__} or None, not {type(out).__name__}")
    return out


def _info(plugin_class: type, kinds: Union[None, str, Sequence[str]], roles: Optional[Sequence[Role]]) -> Info:
    implements = implemented(plugin_class)
    if isinstance(kinds, str):
        kinds = [kinds]
    kinds = list(kinds or ["*"])
    for kind in kinds:
        if not isinstance(kind, str):
            raise TypeError(f"kinds are strings such as kinds.FOLLOW, not {kind!r}")
    roles = list(implements if roles is None else roles)
    for role in roles:
        if not isinstance(role, Role):
            raise TypeError(f"roles are Role members such as Role.ACTIONS, not {role!r}")
    return Info(name="", version="", kinds=kinds, roles=roles, implements=implements)


def export(
    plugin_class: type,
    kinds: Union[None, str, Sequence[str]] = None,
    roles: Optional[Sequence[Role]] = None,
) -> type:
    """The class componentize-py exports as the ``handler`` interface: assign
    it to ``Handler`` in the app module (``Handler = export(MyPlugin,
    kinds=[kinds.FOLLOW])``).

    ``kinds`` are the event kinds wanted (default: every kind, ``"*"``);
    ``roles`` the roles the host calls (default: the ones implemented, which
    is nearly always right). Name and version are left empty: the plugin's
    ``plugin.toml`` is their one source.

    The class keeps one plugin instance, built by ``configure`` (an
    exception becomes the error the streamer sees) and called by the
    entry points; an exception in ``on_event`` becomes its error result,
    one in ``format`` or ``render`` is logged and answers None. Each call's
    kv writes reach the host when it returns, or not at all if it raised.
    """
    if not isinstance(plugin_class, type):
        raise TypeError(f"export() takes the plugin class, not {plugin_class!r}")
    info = _info(plugin_class, kinds, roles)
    state = _State()
    _STATES.append(state)

    class Handler(exports.Handler):
        """The component's entry points for one plugin class."""

        def describe(self) -> Info:
            """Kinds and roles, so the host knows what to call this plugin for."""
            return Info(
                name=info.name,
                version=info.version,
                kinds=list(info.kinds),
                roles=list(info.roles),
                implements=list(info.implements),
            )

        def configure(self, settings: str) -> None:
            """Builds the plugin from the settings JSON; raises Err(message)
            when it cannot start, so the streamer sees why."""
            state.plugin = None
            try:
                plugin = plugin_class(Settings.parse(settings))
            except Exception as e:
                host._discard()
                raise Err(error_text(e)) from None
            host._flush()
            state.plugin = plugin

        def format(self, e: Event) -> Optional[Display]:
            """The plugin's display of ``e``; None on an error (logged), so
            other formatters still get their turn."""
            plugin = state.plugin
            if plugin is None:
                return None
            try:
                out = _checked("format", plugin.format(e), Display)
            except Exception as err:
                host._discard()
                _report("format", err)
                return None
            host._flush()
            return out

        def on_event(self, e: Event) -> List[Action]:
            """The plugin's actions for ``e``; raises Err(message) on an
            error, which the host logs and shows without faulting."""
            plugin = state.plugin
            if plugin is None:
                raise Err(NOT_CONFIGURED)
            try:
                actions = _actions(plugin.on_event(e))
            except Exception as err:
                host._discard()
                if not isinstance(err, _DELIBERATE):
                    _report("on_event", err)
                raise Err(error_text(err)) from None
            host._flush()
            return actions

        def render(self, a: Alert) -> Optional[Alert]:
            """The plugin's restyled ``a``; None on an error (logged), so the
            alert is still shown as it was."""
            plugin = state.plugin
            if plugin is None:
                return None
            try:
                out = _checked("render", plugin.render(a), Alert)
            except Exception as err:
                host._discard()
                _report("render", err)
                return None
            host._flush()
            return out

    Handler.plugin_class = plugin_class
    Handler.__qualname__ = Handler.__name__ = "Handler"
    Handler.__doc__ = f"The component's entry points for {plugin_class.__name__}."
    return Handler


def _reset_all() -> None:
    """Forgets every exported plugin's instance (the fake host's reset)."""
    for state in _STATES:
        state.plugin = None
