// `exportPlugin`: turns a plugin class into the component's `handler`
// export, the way the Rust SDK's `export!` macro does: roles from the
// methods the class has, one instance living between calls, errors as
// messages the streamer sees, and checks that turn a malformed return value
// into an error instead of a trap (a trap is a fault; five in a row
// quarantine the plugin).

import * as host from "stagehand:plugin/host@0.3.0";
import { completeAlert } from "./actions.js";
import { flush } from "./host.js";
import { Settings } from "./settings.js";

/** What `onEvent` throws when called before a successful `configure`. */
export const NOT_CONFIGURED =
  "the plugin was not configured (its constructor threw, or configure was never called)";

const ROLES = ["formatter", "actions", "renderer"];

/**
 * The component's `handler` export for `PluginClass`: write
 * `export const handler = exportPlugin(MyPlugin, { kinds: [kinds.FOLLOW] })`.
 * The class is built with `new PluginClass(settings)` on `configure`; its
 * `format`, `onEvent` and `render` methods (those it has) are the roles it
 * plays, and its fields keep state between events.
 */
export function exportPlugin(PluginClass, options = {}) {
  if (typeof PluginClass !== "function" || !PluginClass.prototype) {
    throw new TypeError("exportPlugin wants a class (new PluginClass(settings) builds the plugin)");
  }
  const proto = PluginClass.prototype;
  const formats = typeof proto.format === "function";
  const acts = typeof proto.onEvent === "function";
  const renders = typeof proto.render === "function";
  const implemented = [
    formats ? "formatter" : null,
    acts ? "actions" : null,
    renders ? "renderer" : null,
  ].filter((r) => r !== null);
  const kinds = listOf(options.kinds, "kinds", (k) => typeof k === "string");
  const roles = listOf(options.roles, "roles", (r) => ROLES.includes(r));
  const info = {
    name: "",
    version: "",
    kinds: kinds.length > 0 ? kinds : ["*"],
    roles: roles.length > 0 ? roles : implemented,
    implements: implemented,
  };

  let plugin = null;

  return {
    describe() {
      return {
        name: info.name,
        version: info.version,
        kinds: [...info.kinds],
        roles: [...info.roles],
        implements: [...info.implements],
      };
    },

    configure(settings) {
      try {
        plugin = new PluginClass(new Settings(settings));
      } catch (e) {
        throw errorText(e);
      } finally {
        flush();
      }
    },

    format(event) {
      if (plugin === null || !formats) return null;
      try {
        const shown = plugin.format(fromHost(event));
        return shown == null ? null : checkDisplay(shown);
      } catch (e) {
        host.log("error", `format: ${errorText(e)}`);
        return null;
      } finally {
        flush();
      }
    },

    onEvent(event) {
      if (plugin === null) throw NOT_CONFIGURED;
      if (!acts) return [];
      try {
        return checkActions(plugin.onEvent(fromHost(event)));
      } catch (e) {
        throw errorText(e);
      } finally {
        flush();
      }
    },

    render(alert) {
      if (plugin === null || !renders) return null;
      try {
        const styled = plugin.render(completeAlert(alert));
        if (styled == null) return null;
        record(styled, "the alert");
        return checkAlert(completeAlert(styled), "the alert");
      } catch (e) {
        host.log("error", `render: ${errorText(e)}`);
        return null;
      } finally {
        flush();
      }
    },
  };
}

/**
 * An error as the message the streamer sees: an Error's message, a string
 * as it is, anything else printed. Only strings cross the component
 * boundary as errors (other values trap).
 */
export function errorText(e) {
  if (e instanceof Error) return e.message || e.name || "error";
  if (typeof e === "string") return e;
  try {
    const json = JSON.stringify(e);
    if (json !== undefined) return json;
  } catch {
    // Not JSON: printed below.
  }
  return String(e);
}

function listOf(value, what, ok) {
  if (value == null) return [];
  if (!Array.isArray(value) || !value.every(ok)) {
    throw new TypeError(`exportPlugin: ${what} must be an array of ${what === "kinds" ? "kind names" : "roles"}`);
  }
  return [...value];
}

/**
 * The event in the SDK's form: numbers for u64 fields and null for absent
 * options. QuickJS already hands them so; SpiderMonkey (componentize-js)
 * gives BigInts and undefined, converted here.
 */
function fromHost(event) {
  return typeof event.occurredAtMs === "bigint" ? plain(event) : event;
}

function plain(value) {
  if (Array.isArray(value)) return value.map(plain);
  const out = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) {
      if (key !== "val") out[key] = null;
    } else if (typeof v === "bigint") {
      out[key] = Number(v);
    } else if (v !== null && typeof v === "object") {
      out[key] = plain(v);
    } else {
      out[key] = v;
    }
  }
  return out;
}

function checkActions(actions) {
  if (actions == null) return [];
  if (!Array.isArray(actions)) {
    throw `onEvent must return an array of actions, not ${kindOf(actions)}`;
  }
  return actions.map(checkAction);
}

function checkAction(action, i) {
  const where = `action ${i}`;
  if (action === null || typeof action !== "object") {
    throw `${where} is ${kindOf(action)}, not an action (build one with showAlert, speak, sendChat, ...)`;
  }
  const { tag, val } = action;
  const at = `${where} (${tag})`;
  switch (tag) {
    case "show-alert":
      record(val, at);
      return { tag, val: checkAlert(completeAlert(val), at) };
    case "speak":
    case "send-chat":
    case "unmute-tts":
    case "clear-tts":
      text(val, at);
      return action;
    case "mute-tts":
      record(val, at);
      text(val.login, `${at}: login`);
      if (val.minutes != null) u32(val.minutes, `${at}: minutes`);
      return { tag, val: { login: val.login, minutes: val.minutes ?? null } };
    case "cooldown-tts":
      record(val, at);
      text(val.login, `${at}: login`);
      u32(val.gapSeconds, `${at}: gapSeconds`);
      u32(val.minutes, `${at}: minutes`);
      return action;
    case "webhook":
      record(val, at);
      text(val.url, `${at}: url`);
      text(val.body, `${at}: body`);
      return action;
  }
  throw `${where} has an unknown tag ${JSON.stringify(tag)}`;
}

function checkAlert(alert, where) {
  text(alert.overlay, `${where}: overlay`);
  text(alert.title, `${where}: title`);
  text(alert.message, `${where}: message`);
  for (const key of ["imageUrl", "soundUrl", "videoUrl", "tts", "html", "css"]) {
    if (alert[key] !== null) text(alert[key], `${where}: ${key}`);
  }
  u32(alert.durationMs, `${where}: durationMs`);
  return alert;
}

function checkDisplay(d) {
  record(d, "the display");
  for (const key of ["label", "icon", "color", "text"]) {
    text(d[key], `the display's ${key}`);
  }
  return { label: d.label, icon: d.icon, color: d.color, text: d.text };
}

function record(v, where) {
  if (v === null || typeof v !== "object") throw `${where} must be an object, not ${kindOf(v)}`;
}

function text(v, where) {
  if (typeof v !== "string") throw `${where} must be a string, not ${kindOf(v)}`;
}

function u32(v, where) {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw `${where} must be a whole number from 0 to 4294967295, not ${kindOf(v)}`;
  }
}

function kindOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v === "object" ? "an object" : typeof v;
}
