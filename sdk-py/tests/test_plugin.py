"""export(): what the host sees through the handler interface."""

import pytest

from stagehand_plugin import Err, Plugin, Settings, alert, display, export, kinds, kv, show_alert, testing, who
from stagehand_plugin.plugin import NOT_CONFIGURED
from stagehand_plugin.types import EventData_Follow, Level, Role


class Counter(Plugin):
    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.title = settings.get_str("title", "Hello")
        if settings.get("fail"):
            raise ValueError("fail is set, so I fail")
        self.seen = 0

    def on_event(self, event):
        self.seen += 1
        kv.set("seen", str(self.seen))
        name = who(event)
        if name == "Boom":
            raise ValueError("no Boom please")
        if name == "Bug":
            return {}["missing"]
        if name == "Err":
            raise Err("explicit")
        if name == "Nobody":
            return None
        return [show_alert(alert(self.title, f"{name} #{self.seen}"))]


CounterHandler = export(Counter, kinds=[kinds.FOLLOW, kinds.RAID])


class Everything(Plugin):
    def format(self, event):
        if who(event) == "Bug":
            raise KeyError("x")
        return display("Follow", "+", "#fff", who(event))

    def on_event(self, event):
        return []

    def render(self, a):
        if a.title == "Bug":
            raise RuntimeError("render broke")
        a.css = ".x{}"
        return a


EverythingHandler = export(Everything)


def configured(handler, settings="{}"):
    h = handler()
    h.configure(settings)
    return h


def test_describe_says_kinds_and_the_roles_implemented():
    info = testing.describe(CounterHandler)
    assert info.kinds == [kinds.FOLLOW, kinds.RAID]
    assert info.implements == [Role.ACTIONS]
    assert info.roles == [Role.ACTIONS]
    assert (info.name, info.version) == ("", "")
    every = testing.describe(EverythingHandler)
    assert every.kinds == ["*"]
    assert every.implements == [Role.FORMATTER, Role.ACTIONS, Role.RENDERER]


def test_roles_and_a_single_kind_can_be_given():
    info = testing.describe(export(Everything, kinds=kinds.CHEER, roles=[Role.FORMATTER]))
    assert info.kinds == [kinds.CHEER]
    assert info.roles == [Role.FORMATTER]
    assert info.implements == [Role.FORMATTER, Role.ACTIONS, Role.RENDERER]
    with pytest.raises(TypeError):
        export(Everything, roles=["actions"])
    with pytest.raises(TypeError):
        export(Everything())


def test_state_lives_between_calls_and_writes_reach_kv_once_per_call():
    h = configured(CounterHandler, '{"title": "Hi"}')
    h.on_event(testing.follow("Ann"))
    [action] = h.on_event(testing.follow("Bob"))
    assert action.value.title == "Hi"
    assert action.value.message == "Bob #2"
    assert testing.fake_host().kv == {"seen": "2"}
    assert testing.fake_host().kv_writes == 2


def test_a_raised_error_is_the_error_result_and_its_writes_are_dropped():
    h = configured(CounterHandler)
    h.on_event(testing.follow("Ann"))
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Boom"))
    assert e.value.value == "no Boom please"
    assert testing.kv() == {"seen": "1"}
    assert testing.logs() == []  # the host logs the error itself
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Err"))
    assert e.value.value == "explicit"


def test_a_bug_names_its_exception_and_logs_the_traceback():
    h = configured(CounterHandler)
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Bug"))
    assert e.value.value == "KeyError: 'missing'"
    [(level, line)] = testing.logs()
    assert level == Level.ERROR
    assert "Traceback" in line and "KeyError" in line


def test_none_means_no_actions():
    assert configured(CounterHandler).on_event(testing.follow("Nobody")) == []


def test_settings_errors_stop_the_plugin_with_their_message():
    h = CounterHandler()
    with pytest.raises(Err) as e:
        h.configure('{"fail": true}')
    assert e.value.value == "fail is set, so I fail"
    with pytest.raises(Err) as e:
        h.configure("[1]")
    assert e.value.value == "settings must be a JSON object"
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Ann"))
    assert e.value.value == NOT_CONFIGURED


def test_before_configure_nothing_runs():
    h = EverythingHandler()
    assert h.format(testing.follow("Ann")) is None
    assert h.render(alert("T")) is None
    with pytest.raises(Err):
        h.on_event(testing.follow("Ann"))


def test_format_and_render_errors_are_logged_and_answer_none():
    h = configured(EverythingHandler)
    assert h.format(testing.follow("Ann")).text == "Ann"
    assert h.format(testing.follow("Bug")) is None
    assert h.render(alert("T")).css == ".x{}"
    assert h.render(alert("Bug")) is None
    logs = testing.logs()
    assert [level for level, _ in logs] == [Level.ERROR, Level.ERROR]
    assert "KeyError" in logs[0][1] and "Traceback" in logs[0][1]
    assert logs[1][1] == "render: render broke"


def test_reset_forgets_the_configured_instance():
    h = configured(CounterHandler)
    testing.reset()
    with pytest.raises(Err):
        h.on_event(testing.follow("Ann"))


def test_a_plugin_is_testable_without_the_handler():
    p = Counter(Settings())
    [action] = p.on_event(testing.follow("Ann"))
    assert isinstance(testing.follow("Ann").data, EventData_Follow)
    assert action.value.message == "Ann #1"
    assert testing.kv() == {"seen": "1"}


class Sloppy(Plugin):
    def format(self, event):
        return "Ann followed"

    def on_event(self, event):
        if who(event) == "Single":
            return show_alert(alert("T"))
        return [alert("T")]

    def render(self, a):
        return {"title": "x"}


def test_answers_of_the_wrong_type_are_errors_that_say_so():
    h = configured(export(Sloppy))
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Ann"))
    assert e.value.value == "TypeError: on_event returned Alert, which is not an action: wrap it with show_alert(...)"
    with pytest.raises(Err) as e:
        h.on_event(testing.follow("Single"))
    assert e.value.value == "TypeError: on_event must return a list of actions, not Action_ShowAlert"
    assert h.format(testing.follow("Ann")) is None
    assert h.render(alert("T")) is None
    messages = [line for _, line in testing.logs()]
    assert any("format must return Display or None, not str" in m for m in messages)
    assert any("render must return Alert or None, not dict" in m for m in messages)


def test_tuples_and_generators_of_actions_are_fine():
    class Gen(Plugin):
        def on_event(self, event):
            yield show_alert(alert("T"))

    assert len(configured(export(Gen)).on_event(testing.follow("Ann"))) == 1
