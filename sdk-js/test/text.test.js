// The text helpers, with the Rust SDK's text.rs cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, tierName, isName } from "../index.js";

test("tiers read as people say them", () => {
  assert.equal(tierName("1000"), "Tier 1");
  assert.equal(tierName("3000"), "Tier 3");
  assert.equal(tierName("Prime"), "Prime");
  assert.equal(tierName("custom"), "custom");
  assert.equal(tierName(2000), "Tier 2");
  assert.equal(tierName(" prime "), "Prime");
});

const vars = (name) =>
  ({ username: "Bob", bits: "100", "reward.title": "Hydrate", empty: "" })[name] ?? null;

test("placeholders are filled", () => {
  const cases = [
    ["{username} cheered {bits} bits!", "Bob cheered 100 bits!"],
    ["{username}{bits}", "Bob100"],
    ["redeemed {reward.title}", "redeemed Hydrate"],
    ["no placeholders", "no placeholders"],
    ["", ""],
    ["{username}", "Bob"],
    ["[{empty}]", "[]"],
  ];
  for (const [template, expected] of cases) assert.equal(render(template, vars), expected, template);
});

test("unknown variables become empty", () => {
  assert.equal(render("hi {nobody}!", vars), "hi !");
  assert.equal(render("{reward.cost} points", vars), " points");
});

test("braces that are not placeholders stay", () => {
  const cases = [
    ["{{username}}", "{username}"],
    ["a { b } c", "a { b } c"],
    ["lone { brace", "lone { brace"],
    ["lone } brace", "lone } brace"],
    ["{username", "{username"],
    ["{}", "{}"],
    ["{user name}", "{user name}"],
    ["{.x}", "{.x}"],
    ["{a..b}", "{a..b}"],
    ["{{{username}}}", "{Bob}"],
    ["😀{username}😀", "😀Bob😀"],
  ];
  for (const [template, expected] of cases) assert.equal(render(template, vars), expected, template);
});

test("values are not templates themselves", () => {
  assert.equal(render("{message}", () => "{username}"), "{username}");
});

test("numbers from a lookup are printed", () => {
  assert.equal(render("#{count}", () => 7), "#7");
});

test("names allow nesting but not junk", () => {
  assert.ok(isName("bits"));
  assert.ok(isName("reward.title"));
  assert.ok(isName("badges.0.set_id"));
  assert.ok(!isName(""));
  assert.ok(!isName("a b"));
  assert.ok(!isName("a."));
  assert.ok(!isName("a-b"));
});
