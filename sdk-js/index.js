// @stagehand/plugin-sdk: write a Stagehand plugin as a class, export it
// with `exportPlugin`, build it into a WebAssembly component with
// `stagehand-build`. The contract is the WIT package stagehand:plugin@0.3.0
// (wit/plugin.wit); see README.md.

export { exportPlugin, errorText, NOT_CONFIGURED } from "./lib/export.js";
export { Settings } from "./lib/settings.js";
export { kv, log, now } from "./lib/host.js";
export { who, named, field, lookup, message } from "./lib/event.js";
export { render, tierName, isName } from "./lib/text.js";
export {
  alert,
  display,
  showAlert,
  speak,
  sendChat,
  muteTts,
  unmuteTts,
  cooldownTts,
  clearTts,
  webhook,
} from "./lib/actions.js";
export * as kinds from "./lib/kinds.js";
export * as limits from "./lib/limits.js";
