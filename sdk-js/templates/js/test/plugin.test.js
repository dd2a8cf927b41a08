// `npm test`: Node's test runner against the SDK's fake host.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Settings, kinds } from "@stagehand/plugin-sdk";
import * as testing from "@stagehand/plugin-sdk/testing";
import { FollowAlert, handler } from "../src/plugin.js";

beforeEach(() => testing.reset());

test("a follow becomes an alert naming the follower", () => {
  const plugin = new FollowAlert(new Settings());
  const actions = plugin.onEvent(testing.follow("JaneDoe"));
  assert.equal(actions.length, 1);
  assert.equal(actions[0].tag, "show-alert");
  assert.equal(actions[0].val.title, "New follower!");
  assert.equal(actions[0].val.message, "JaneDoe just followed");
});

test("the title is a setting", () => {
  const plugin = new FollowAlert(new Settings({ title: "Welcome!" }));
  assert.equal(plugin.onEvent(testing.follow("Ann"))[0].val.title, "Welcome!");
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
