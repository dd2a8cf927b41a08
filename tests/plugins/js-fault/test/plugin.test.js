import { test } from "node:test";
import assert from "node:assert/strict";
import { reset, follow, other, kv, describe } from "@stagehand/plugin-sdk/testing";
import { handler } from "../src/plugin.js";

test("follows get an alert naming the follower", () => {
  reset();
  handler.configure("{}");
  const [action] = handler.onEvent(follow("Ann"));
  assert.equal(action.tag, "show-alert");
  assert.equal(action.val.message, "Ann followed (JS)");
});

test("a thrown Error reaches the host as its message", () => {
  reset();
  handler.configure("{}");
  assert.throws(() => handler.onEvent(other("test.js", { mode: "throw" })), (e) =>
    typeof e === "string" && e.includes("boom from JavaScript"),
  );
});

test("counts live in kv", () => {
  reset();
  handler.configure("{}");
  handler.onEvent(other("test.js", { mode: "count" }));
  handler.onEvent(other("test.js", { mode: "count" }));
  assert.equal(kv().events, "2");
});

test("it plays the actions role for every kind", () => {
  const info = describe(handler);
  assert.deepEqual(info.kinds, ["*"]);
  assert.deepEqual(info.implements, ["actions"]);
});
