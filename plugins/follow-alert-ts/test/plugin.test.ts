// Run with `npm test`: Node's test runner against the SDK's fake host.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Settings, kinds } from "@stagehand/plugin-sdk";
import * as testing from "@stagehand/plugin-sdk/testing";
import { FollowAlert, handler } from "../src/plugin.js";

let plugin: FollowAlert;
beforeEach(() => {
  testing.reset();
  plugin = new FollowAlert(new Settings());
});

test("a follow becomes one alert naming the follower", () => {
  const actions = plugin.onEvent(testing.follow("JaneDoe"));
  assert.equal(actions.length, 1);
  const [action] = actions;
  assert.ok(action?.tag === "show-alert", "not an alert");
  assert.equal(action.val.title, "New follower!");
  assert.equal(action.val.message, "JaneDoe just followed");
  assert.equal(action.val.tts, "Thanks for the follow, JaneDoe!");
  assert.equal(action.val.overlay, "alerts");
});

test("state lasts between events", () => {
  plugin.onEvent(testing.follow("A"));
  plugin.onEvent(testing.follow("B"));
  assert.equal(plugin.followers, 2);
  // Other kinds are not follows.
  assert.deepEqual(plugin.onEvent(testing.cheer("C", 5)), []);
  assert.equal(plugin.followers, 2);
});

test("it asks only for follows and plays the actions role", () => {
  const info = testing.describe(handler);
  assert.deepEqual(info.kinds, [kinds.FOLLOW]);
  assert.deepEqual(info.implements, ["actions"]);
  assert.deepEqual(info.roles, ["actions"]);
});

test("through the export, as the host calls it", () => {
  handler.configure("{}");
  const [action] = handler.onEvent(testing.follow("Ann"));
  assert.equal(action?.tag === "show-alert" && action.val.message, "Ann just followed");
});
