// Settings getters, with the Rust SDK's cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Settings } from "../index.js";
import * as testing from "../testing/index.js";

test("getters read what is there and nothing else", () => {
  const s = new Settings({ a: "x", n: 5, m: "7", b: true, f: 1.5 });
  assert.equal(s.str("a"), "x");
  assert.equal(s.strOr("missing", "d"), "d");
  assert.equal(s.uint("n"), 5);
  assert.equal(s.uint("m"), 7);
  assert.equal(s.uint("a"), null);
  assert.equal(s.uint("f"), null);
  assert.equal(s.bool("b"), true);
  assert.equal(s.bool("a"), null);
  assert.equal(s.number("f"), 1.5);
  assert.equal(s.number("m"), 7);
  assert.equal(s.get("missing"), undefined);
  assert.ok(s.has("a") && !s.has("missing"));
  assert.deepEqual(s.toJSON(), { a: "x", n: 5, m: "7", b: true, f: 1.5 });
});

test("JSON text is parsed, and only an object is accepted", () => {
  assert.equal(new Settings('{"a": "x"}').str("a"), "x");
  assert.deepEqual(new Settings("").toJSON(), {});
  assert.deepEqual(new Settings().toJSON(), {});
  assert.throws(() => Settings.parse("[1]"), /must be a JSON object/);
  assert.throws(() => Settings.parse("{"), /not valid JSON/);
});

test("the host's settings are read on demand", () => {
  testing.reset();
  testing.setSettings({ title: "hi" });
  assert.equal(Settings.fromHost().str("title"), "hi");
});
