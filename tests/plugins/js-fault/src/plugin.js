// @ts-check
// A JavaScript plugin the end-to-end tests drive with `test.js` events:
// mode "throw" throws an Error (its message must reach the streamer),
// mode "count" counts in kv (which must survive fresh instances), mode
// "leak" keeps 64 KiB for good (the heap only grows). Follows get an alert.

import { exportPlugin, kv, showAlert, who, field } from "@stagehand/plugin-sdk";

export class JsFault {
  constructor() {
    /** Memory kept for good by "leak" events. */
    this.kept = [];
    /** Calls this instance served (a fresh instance starts at 0). */
    this.calls = 0;
  }

  /**
   * @param {import("@stagehand/plugin-sdk").Event} event
   * @returns {import("@stagehand/plugin-sdk").Action[]}
   */
  onEvent(event) {
    this.calls += 1;
    if (event.kind === "channel.follow") {
      return [showAlert("JavaScript", `${who(event)} followed (JS)`)];
    }
    if (event.kind !== "test.js") return [];
    switch (field(event, "mode")) {
      case "throw":
        throw new Error(`boom from JavaScript after ${this.calls} calls`);
      case "count": {
        const n = Number(kv.get("events") ?? "0") + 1;
        kv.set("events", String(n));
        return [];
      }
      case "leak":
        this.kept.push("x".repeat(64 * 1024) + this.calls);
        return [];
      default:
        return [];
    }
  }
}

export const handler = exportPlugin(JsFault, { kinds: ["*"] });
