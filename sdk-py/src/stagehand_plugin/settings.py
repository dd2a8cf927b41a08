"""A plugin's settings: the JSON object of its ``plugin.toml`` ``[settings]``
(or what the streamer saved), with typed getters that fall back to a default
instead of failing on a missing or mistyped value."""

import json
import math
import re
from typing import Any, Dict, Iterator, Mapping, Optional

__all__ = ["Settings"]

_WHOLE = re.compile(r"\+?[0-9]+")
_U64_MAX = (1 << 64) - 1


class Settings(Mapping[str, Any]):
    """The settings a plugin is built with (read-only; a ``Mapping``)."""

    def __init__(self, values: Optional[Mapping[str, Any]] = None) -> None:
        self._values: Dict[str, Any] = dict(values or {})

    @classmethod
    def parse(cls, text: str) -> "Settings":
        """Reads the settings JSON the host passes. Anything but an object
        raises ValueError with a message the streamer sees, since a plugin
        cannot start on settings it cannot read."""
        if not text.strip():
            return cls()
        try:
            value = json.loads(text)
        except ValueError as e:
            raise ValueError(f"settings are not valid JSON: {e}") from None
        if not isinstance(value, dict):
            raise ValueError("settings must be a JSON object")
        return cls(value)

    @classmethod
    def from_json(cls, value: Any) -> "Settings":
        """Settings from a parsed JSON value, for tests (anything but a dict
        gives empty settings)."""
        return cls(value if isinstance(value, dict) else {})

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value of ``key`` (any JSON type), or ``default``."""
        return self._values.get(key, default)

    def get_str(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """A text setting, or ``default`` when missing or not text."""
        value = self._values.get(key)
        return value if isinstance(value, str) else default

    def get_int(self, key: str, default: Optional[int] = None) -> Optional[int]:
        """A whole-number setting, 0 or more (a number, or a string holding
        one: streamers type numbers into text boxes), or ``default``."""
        value = self._values.get(key)
        if isinstance(value, bool):
            return default
        if isinstance(value, int):
            return value if 0 <= value <= _U64_MAX else default
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
            number = int(value.strip())
            return number if number <= _U64_MAX else default
        return default

    def get_float(self, key: str, default: Optional[float] = None) -> Optional[float]:
        """A number setting (or a string holding one), or ``default``."""
        value = self._values.get(key)
        if isinstance(value, bool):
            return default
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return default
            return number if math.isfinite(number) else default
        return default

    def get_bool(self, key: str, default: Optional[bool] = None) -> Optional[bool]:
        """A boolean setting (JSON true or false only), or ``default``."""
        value = self._values.get(key)
        return value if isinstance(value, bool) else default

    def to_json(self) -> Dict[str, Any]:
        """A copy of the whole object."""
        return dict(self._values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"
