#!/usr/bin/env node
// `npm run check-types`: the committed contract declarations (types/) must
// be what `jco guest-types` makes of wit/plugin.wit today, and
// wit/plugin.wit must be the Rust SDK's contract, byte for byte. With
// `--write` (`npm run update-types`) it regenerates types/ instead.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const write = process.argv.includes("--write");
let failed = false;

// 1. The WIT copy.
const wit = join(root, "wit", "plugin.wit");
const upstream = join(root, "..", "plugin-sdk", "wit", "since_v0.3.0", "plugin.wit");
if (!existsSync(upstream)) {
  console.error(`cannot compare wit/plugin.wit: ${upstream} is missing`);
  failed = true;
} else if (!readFileSync(wit).equals(readFileSync(upstream))) {
  console.error(`wit/plugin.wit differs from ${relative(root, upstream)}: copy it over (cp ${relative(root, upstream)} wit/plugin.wit)`);
  failed = true;
} else {
  console.log("wit/plugin.wit is the contract of plugin-sdk/wit/since_v0.3.0");
}

// 2. The generated declarations.
const devPackage = join(root, "dev", "package.json");
const require = createRequire(devPackage);
let jcoDir;
try {
  jcoDir = dirname(dirname(require.resolve("@bytecodealliance/jco")));
} catch {
  console.error("jco is not installed: run `npm run setup` in sdk-js first (it installs dev/package-lock.json)");
  process.exit(1);
}
const jco = join(jcoDir, "dist", "jco.js");
const jcoVersion = JSON.parse(readFileSync(join(jcoDir, "package.json"), "utf8")).version;
const out = mkdtempSync(join(tmpdir(), "stagehand-types-"));
try {
  const run = spawnSync(
    process.execPath,
    ["--import", join(root, "scripts", "jco-preopen.js"), jco, "guest-types", wit, "-n", "plugin", "-q", "-o", out],
    { stdio: "inherit" },
  );
  if (run.status !== 0) {
    console.error(`jco guest-types failed (exit ${run.status})`);
    process.exit(1);
  }
  const committed = join(root, "types");
  if (write) {
    rmSync(committed, { recursive: true, force: true });
    cpSync(out, committed, { recursive: true });
    console.log(`types/ regenerated with jco ${jcoVersion}`);
  } else {
    const differences = compareTrees(out, committed);
    if (differences.length > 0) {
      console.error(`types/ is not what jco ${jcoVersion} guest-types makes of wit/plugin.wit:`);
      for (const d of differences) console.error(`  ${d}`);
      console.error("regenerate it with `npm run update-types`");
      failed = true;
    } else {
      console.log(`types/ is what jco ${jcoVersion} guest-types makes of wit/plugin.wit`);
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

function files(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, base) : [relative(base, path)];
  });
}

function compareTrees(fresh, committed) {
  const a = new Set(files(fresh));
  const b = new Set(files(committed));
  const out = [];
  for (const f of a) {
    if (!b.has(f)) out.push(`missing: types/${f}`);
    else if (!readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f)))) out.push(`differs: types/${f}`);
  }
  for (const f of b) if (!a.has(f)) out.push(`not generated: types/${f}`);
  return out.sort();
}
