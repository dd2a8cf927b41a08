// `npm test`: Node's test runner against the SDK's fake host.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Settings, kinds } from "@stagehand/plugin-sdk";
import * as testing from "@stagehand/plugin-sdk/testing";
import { FollowAlert, handler } from "../src/plugin.js";

beforeEach(() => testing.reset());

test("a follow becomes an alert naming the follower", () => {
  const plugin = new FollowAlert(new Settings());
  const [action, ...rest] = plugin.onEvent(testing.follow("JaneDoe"));
  assert.deepEqual(rest, []);
  assert.ok(action?.tag === "show-alert", "not an alert");
  assert.equal(action.val.title, "New follower!");
  assert.equal(action.val.message, "JaneDoe just followed");
});

test("the title is a setting", () => {
  const plugin = new FollowAlert(new Settings({ title: "Welcome!" }));
  const [action] = plugin.onEvent(testing.follow("Ann"));
  assert.equal(action?.tag === "show-alert" && action.val.title, "Welcome!");
});

test("other kinds do nothing", () => {
  const plugin = new FollowAlert(new Settings());
  assert.deepEqual(plugin.onEvent(testing.cheer("Bob", 100)), []);
  assert.equal(plugin.followers, 0);
});

test("it asks for follows and plays the actions role", () => {
  const info = testing.describe(handler);
  assert.deepEqual(info.kinds, [kinds.FOLLOW]);
  assert.deepEqual(info.roles, ["actions"]);
});
