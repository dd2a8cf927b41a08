#!/usr/bin/env node
// `node scripts/dev.js TOOL ARGS...`: runs one of the SDK's development
// tools (dev/package.json, installed with `npm run setup`).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [tool, ...args] = process.argv.slice(2);
const bin = fileURLToPath(new URL(`../dev/node_modules/.bin/${tool}`, import.meta.url));
if (!existsSync(bin)) {
  console.error(`${tool} is not installed: run \`npm run setup\` in sdk-js first (it installs dev/package-lock.json)`);
  process.exit(1);
}
const run = spawnSync(bin, args, { stdio: "inherit" });
process.exit(run.status ?? 1);
