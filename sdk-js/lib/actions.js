// Builders for what a plugin returns, so plugins never spell out a record
// with ten fields or a variant's tag by hand.

const OPTIONAL_ALERT_FIELDS = ["imageUrl", "soundUrl", "videoUrl", "tts", "html", "css"];

/**
 * An alert for the default overlay ("alerts"), shown for 5 seconds, with
 * every optional field empty; `extras` sets any other field (`tts`,
 * `imageUrl`, `durationMs`, `overlay`, ...). The contract wants every field
 * present, so building alerts here keeps a forgotten one from trapping.
 */
export function alert(title, message, extras) {
  return completeAlert({ ...extras, title, message });
}

/**
 * `alert` fills in the defaults of a partial alert (also used on what
 * `render` returns): overlay "alerts", 5 seconds, empty options.
 */
export function completeAlert(partial) {
  const out = {
    overlay: "alerts",
    title: "",
    message: "",
    imageUrl: null,
    soundUrl: null,
    videoUrl: null,
    tts: null,
    durationMs: 5000,
    html: null,
    css: null,
  };
  for (const [key, value] of Object.entries(partial ?? {})) {
    if (value !== undefined) out[key] = value;
  }
  for (const key of OPTIONAL_ALERT_FIELDS) {
    if (out[key] === undefined) out[key] = null;
  }
  return out;
}

/**
 * How the dashboard shows an event (a formatter's answer): a short name of
 * the kind, an emoji, a CSS color and one line of text.
 */
export function display(label, icon, color, text) {
  return { label, icon, color, text };
}

/**
 * Queue an alert on an overlay: `showAlert(alert)` with an alert (partial
 * ones are completed as by `alert`), or `showAlert(title, message, extras?)`
 * as a shorthand for `showAlert(alert(title, message, extras))`.
 */
export function showAlert(alertOrTitle, message, extras) {
  const val =
    typeof alertOrTitle === "string"
      ? alert(alertOrTitle, message ?? "", extras)
      : completeAlert(alertOrTitle);
  return { tag: "show-alert", val };
}

/**
 * Read `text` aloud on the speech overlay; for a chat message event the
 * chatter's TTS rules apply. Needs no permission.
 */
export function speak(text) {
  return { tag: "speak", val: text };
}

/** Say `text` in chat (permission `chat`). */
export function sendChat(text) {
  return { tag: "send-chat", val: text };
}

/**
 * Mute a viewer's TTS for `minutes`, or until unmuted when `minutes` is
 * null or left out (permission `tts_rules`).
 */
export function muteTts(login, minutes = null) {
  return { tag: "mute-tts", val: { login, minutes } };
}

/** Lift a viewer's TTS mute (permission `tts_rules`). */
export function unmuteTts(login) {
  return { tag: "unmute-tts", val: login };
}

/**
 * Make a viewer wait `gapSeconds` between TTS messages for `minutes`
 * (permission `tts_rules`).
 */
export function cooldownTts(login, gapSeconds, minutes) {
  return { tag: "cooldown-tts", val: { login, gapSeconds, minutes } };
}

/** Remove every TTS rule of a viewer (permission `tts_rules`). */
export function clearTts(login) {
  return { tag: "clear-tts", val: login };
}

/**
 * POST `body` to `url` (permission `webhooks` listing the URL's host); a
 * body that is not a string is sent as its JSON.
 */
export function webhook(url, body) {
  return {
    tag: "webhook",
    val: { url, body: typeof body === "string" ? body : JSON.stringify(body) },
  };
}
