// exportPlugin: roles, configure, state, errors as strings, output checks,
// kv batching, and events as SpiderMonkey hands them.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  exportPlugin,
  kinds,
  kv,
  log,
  showAlert,
  speak,
  display,
  NOT_CONFIGURED,
  Settings,
} from "../index.js";
import * as testing from "../testing/index.js";

beforeEach(() => testing.reset());

class Counter {
  constructor(settings) {
    this.step = settings.uint("step") ?? 1;
    if (settings.has("step") && settings.uint("step") === null) {
      throw new Error("step must be a whole number");
    }
    this.count = 0;
  }
  onEvent(event) {
    if (event.data.tag === "other") throw new Error(`cannot count ${event.kind}`);
    this.count += this.step;
    kv.set("count", String(this.count));
    return [showAlert("Count", String(this.count))];
  }
}

class Styler {
  format(event) {
    if (event.kind === "x.bad") return { label: 1 };
    if (event.kind === "x.throw") throw new Error("no display");
    return display("Follow", "💜", "#9146ff", "followed");
  }
  render(alert) {
    if (alert.title === "bad") throw "nope";
    return { ...alert, css: ".title { color: red }" };
  }
}

test("describe fills in implements, roles and kinds", () => {
  assert.deepEqual(testing.describe(exportPlugin(Counter, { kinds: [kinds.FOLLOW] })), {
    name: "",
    version: "",
    kinds: ["channel.follow"],
    roles: ["actions"],
    implements: ["actions"],
  });
  const info = testing.describe(exportPlugin(Styler));
  assert.deepEqual(info.kinds, ["*"]);
  assert.deepEqual(info.implements, ["formatter", "renderer"]);
  assert.deepEqual(info.roles, ["formatter", "renderer"]);
  const narrowed = testing.describe(exportPlugin(Styler, { roles: ["renderer"] }));
  assert.deepEqual(narrowed.roles, ["renderer"]);
  assert.deepEqual(narrowed.implements, ["formatter", "renderer"]);
  assert.throws(() => exportPlugin(Styler, { roles: ["nope"] }), /roles/);
});

test("before configure, onEvent refuses and the others answer nothing", () => {
  const h = exportPlugin(Counter);
  assert.throws(() => h.onEvent(testing.follow("Ann")), (e) => e === NOT_CONFIGURED);
  assert.match(NOT_CONFIGURED, /not configured/);
  const s = exportPlugin(Styler);
  assert.equal(s.format(testing.follow("Ann")), null);
  assert.equal(s.render(testing.follow("Ann")), null);
});

test("configure builds the class from the settings; its errors are strings", () => {
  const h = exportPlugin(Counter);
  assert.throws(() => h.configure('{"step": "two"}'), (e) => e === "step must be a whole number");
  assert.throws(() => h.configure("[1]"), (e) => e === "settings must be a JSON object");
  h.configure('{"step": 2}');
  h.onEvent(testing.follow("A"));
  const [action] = h.onEvent(testing.follow("B"));
  assert.equal(action.val.message, "4");
});

test("state lives between calls and kv writes reach the host after each call", () => {
  const h = exportPlugin(Counter);
  h.configure("{}");
  h.onEvent(testing.follow("A"));
  assert.deepEqual(testing.kv(), { count: "1" });
  h.onEvent(testing.follow("B"));
  assert.deepEqual(testing.kv(), { count: "2" });
});

test("an onEvent error is thrown as its message", () => {
  const h = exportPlugin(Counter);
  h.configure("");
  assert.throws(() => h.onEvent(testing.other("x.y", {})), (e) => e === "cannot count x.y");
});

test("a malformed return value is an error, not a trap", () => {
  class Bad {
    onEvent(event) {
      switch (event.kind) {
        case "x.none":
          return undefined;
        case "x.object":
          return { tag: "speak", val: "hi" };
        case "x.tag":
          return [{ tag: "dance", val: 1 }];
        case "x.duration":
          return [showAlert("t", "m", { durationMs: 1.5 })];
        case "x.string":
          return [speak(5)];
        case "x.partial":
          return [{ tag: "show-alert", val: { title: "only a title" } }];
      }
      return [];
    }
  }
  const h = exportPlugin(Bad);
  h.configure("{}");
  assert.deepEqual(h.onEvent(testing.other("x.none", {})), []);
  assert.throws(() => h.onEvent(testing.other("x.object", {})), /must return an array/);
  assert.throws(() => h.onEvent(testing.other("x.tag", {})), /action 0 has an unknown tag "dance"/);
  assert.throws(() => h.onEvent(testing.other("x.duration", {})), /durationMs must be a whole number/);
  assert.throws(() => h.onEvent(testing.other("x.string", {})), /action 0 \(speak\) must be a string/);
  const [partial] = h.onEvent(testing.other("x.partial", {}));
  assert.deepEqual(partial.val, {
    overlay: "alerts",
    title: "only a title",
    message: "",
    imageUrl: null,
    soundUrl: null,
    videoUrl: null,
    tts: null,
    durationMs: 5000,
    html: null,
    css: null,
  });
});

test("format and render errors are logged and answer nothing", () => {
  const h = exportPlugin(Styler);
  h.configure("{}");
  assert.deepEqual(h.format(testing.follow("Ann")), display("Follow", "💜", "#9146ff", "followed"));
  assert.equal(h.format(testing.other("x.throw", {})), null);
  assert.equal(h.format(testing.other("x.bad", {})), null);
  const styled = h.render(showAlert("hi", "there").val);
  assert.equal(styled.css, ".title { color: red }");
  assert.equal(h.render(showAlert("bad", "").val), null);
  assert.deepEqual(
    testing.logs().map((l) => `${l.level} ${l.message}`),
    [
      "error format: no display",
      "error format: the display's label must be a string, not 1",
      "error render: nope",
    ],
  );
});

test("events as SpiderMonkey hands them (BigInt, undefined) arrive as numbers and nulls", () => {
  let seen = null;
  class Spy {
    onEvent(event) {
      seen = event;
      return [];
    }
  }
  const h = exportPlugin(Spy);
  h.configure("{}");
  h.onEvent({
    id: "1",
    kind: kinds.BAN,
    source: "eventsub",
    channelId: "1000",
    viewer: undefined,
    occurredAtMs: 1700000000000n,
    data: { tag: "ban", val: { permanent: false, durationSeconds: 600n, expiresAtMs: undefined, reason: undefined, moderatorName: "M", moderatorId: undefined } },
  });
  assert.deepEqual(seen, {
    id: "1",
    kind: kinds.BAN,
    source: "eventsub",
    channelId: "1000",
    viewer: null,
    occurredAtMs: 1700000000000,
    data: { tag: "ban", val: { permanent: false, durationSeconds: 600, expiresAtMs: null, reason: null, moderatorName: "M", moderatorId: null } },
  });
});

test("the kv cache reads once and sees the harness's changes", () => {
  testing.setKv("n", "41");
  assert.equal(kv.getNumber("n"), 41);
  kv.set("n", "42");
  assert.equal(kv.get("n"), "42");
  kv.delete("n");
  assert.equal(kv.get("n"), null);
  assert.deepEqual(testing.kv(), {});
  testing.setKv("n", "x");
  assert.equal(kv.getNumber("n"), 0);
  assert.throws(() => kv.set("n", 5), /must be a string/);
});

test("log lines reach the host", () => {
  log.info("hello");
  log.warn(42);
  assert.deepEqual(testing.logs(), [
    { level: "info", message: "hello" },
    { level: "warn", message: "42" },
  ]);
});

test("Settings is what configure passes", () => {
  let got = null;
  class Keep {
    constructor(settings) {
      got = settings;
    }
    onEvent() {
      return [];
    }
  }
  exportPlugin(Keep).configure('{"a": 1}');
  assert.ok(got instanceof Settings);
  assert.equal(got.uint("a"), 1);
});
