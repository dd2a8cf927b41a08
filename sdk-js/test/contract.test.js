// The constants must be those of the Rust SDK (kinds.rs, limits.rs), which
// the host shares. Skipped outside the Stagehand repository.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { kinds, limits } from "../index.js";

const rust = new URL("../../plugin-sdk/src/", import.meta.url);
const here = existsSync(new URL("limits.rs", rust));

/** `pub const NAME: T = EXPR;` → { NAME: EXPR as text }. */
function constants(file) {
  const text = readFileSync(new URL(file, rust), "utf8");
  const out = {};
  for (const m of text.matchAll(/pub const (\w+): [^=]+= ([^;]+);/g)) out[m[1]] = m[2].trim();
  return out;
}

test("limits are the Rust SDK's", { skip: !here && "no ../plugin-sdk" }, () => {
  const rustLimits = constants("limits.rs");
  assert.deepEqual(Object.keys(limits).sort(), Object.keys(rustLimits).sort());
  for (const [name, expr] of Object.entries(rustLimits)) {
    assert.match(expr, /^[0-9_ *<()+]+$/, `${name}: ${expr}`);
    const value = Function(`"use strict"; return (${expr.replaceAll("_", "")});`)();
    assert.equal(limits[name], value, name);
  }
});

test("kinds are the Rust SDK's", { skip: !here && "no ../plugin-sdk" }, () => {
  const rustKinds = constants("kinds.rs");
  delete rustKinds.KNOWN;
  for (const [name, expr] of Object.entries(rustKinds)) {
    assert.equal(kinds[name], JSON.parse(expr), name);
  }
  const known = readFileSync(new URL("kinds.rs", rust), "utf8").match(/KNOWN: &\[&str\] = &\[([^\]]*)\]/)[1];
  const names = known.split(",").map((s) => s.trim()).filter(Boolean);
  assert.deepEqual(kinds.KNOWN, names.map((n) => kinds[n]));
  assert.deepEqual(
    Object.keys(kinds).sort(),
    [...Object.keys(rustKinds), "KNOWN"].sort(),
  );
});
