"""What the host accepts from a plugin, as numbers to check before returning.

An action over a limit is refused (and logged to the plugin's status), a
call over its budget faults the plugin. The host uses the same values (the
Rust SDK's ``limits`` module; a test of this SDK keeps the two equal).
Sizes are in bytes of UTF-8: measure with ``len(text.encode())``.
"""

#: Actions one ``on_event`` call may return; more is refused whole.
MAX_ACTIONS_PER_EVENT = 20

#: A formatter's display, field by field, in bytes.
MAX_DISPLAY_LABEL = 64
MAX_DISPLAY_ICON = 32
MAX_DISPLAY_COLOR = 64
MAX_DISPLAY_TEXT = 1024

#: An alert's title, message and speech text, in bytes.
MAX_ALERT_TITLE = 1024
MAX_ALERT_MESSAGE = 4096
MAX_ALERT_TTS = 1024
#: An alert's custom HTML and CSS, each, in bytes.
MAX_ALERT_MARKUP = 64 << 10
#: A media URL, in bytes (a ``data:`` URL is the longest kind).
MAX_MEDIA_URL = 64 << 10
#: The longest alert, in milliseconds.
MAX_ALERT_DURATION_MS = 5 * 60 * 1000
#: Overlay names are 1 to this many of ``a-z``, ``0-9`` and ``-``.
MAX_OVERLAY_NAME = 32

#: A chat message, in characters (Twitch's own limit).
MAX_CHAT_MESSAGE = 500

#: The longest TTS mute or cooldown, in minutes (30 days); a mute with no
#: minutes lasts until lifted.
MAX_TTS_RULE_MINUTES = 30 * 24 * 60
#: The longest gap a TTS cooldown imposes, in seconds.
MAX_TTS_COOLDOWN_GAP_SECONDS = 60 * 60

#: Key-value storage: all of a plugin's keys and values together, in bytes.
MAX_KV_BYTES = 16 << 20
#: Key-value storage: number of keys.
MAX_KV_KEYS = 10_000
#: Key-value storage: one key, in bytes.
MAX_KV_KEY_BYTES = 256
#: Key-value storage: one value, in bytes.
MAX_KV_VALUE_BYTES = 64 << 10
#: Key-value storage: what one call may write, in bytes.
MAX_KV_WRITE_PER_CALL = 256 << 10

#: A log line, in bytes (longer ones are cut).
MAX_LOG_LINE = 2048
#: An error string, in bytes (longer ones are cut).
MAX_ERROR = 1024

#: The call deadline and memory budget a plugin gets without asking.
DEFAULT_DEADLINE_MS = 50
DEFAULT_MEMORY_MIB = 64
#: The most a plugin may ask for (the streamer must grant it).
MAX_DEADLINE_MS = 5_000
MAX_MEMORY_MIB = 1_024
