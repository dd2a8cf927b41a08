// stagehand-build's checks that need no engine: the manifest, the entry,
// and a clear word when an engine is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../bin/stagehand-build.js", import.meta.url));

function build(dir, ...args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

function project(files) {
  const dir = mkdtempSync(join(tmpdir(), "stagehand-build-test-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("it wants a plugin.toml with a valid name", () => {
  const empty = project({});
  const bad = project({ "plugin.toml": 'name = "Bad Name"\n' });
  try {
    assert.match(build(empty).out, /no plugin\.toml here/);
    assert.match(build(bad).out, /must be 1 to 64 of a-z, 0-9 and -/);
  } finally {
    rmSync(empty, { recursive: true });
    rmSync(bad, { recursive: true });
  }
});

test("it names a missing engine, a missing entry and a failed engine", { skip: process.platform === "win32" && "a sh stand-in engine" }, () => {
  const dir = project({
    "plugin.toml": '# a comment\nname = "ok-name"\n[settings]\nname = "not this one"\n',
    "package.json": '{"main": "src/main.js"}',
  });
  try {
    assert.match(build(dir).out, /componentize-qjs is not installed/);
    assert.match(build(dir, "--engine", "spidermonkey").out, /componentize-js is not installed/);
    assert.match(build(dir, "--engine", "v8").out, /unknown engine v8/);
    // A stand-in engine that fails.
    mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
    writeFileSync(join(dir, "node_modules", ".bin", "componentize-qjs"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const missing = build(dir);
    assert.equal(missing.status, 1);
    assert.match(missing.out, /entry module src[/\\]main\.js does not exist/);
    writeFileSync(join(dir, "package.json"), "{}");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "plugin.js"), "export const handler = {};\n");
    assert.match(build(dir).out, /componentize-qjs failed \(exit 3\)/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
