#!/usr/bin/env node
// stagehand-build: turns a plugin project into the folder Stagehand loads,
// dist/<name>/ with plugin.toml and <name>.wasm. Plugin projects call it
// from `npm run build`.
//
//   stagehand-build [--engine quickjs|spidermonkey] [--opt-size] [--entry FILE] [--out DIR] [--dir DIR]
//
// 1. tsc, when the project has a tsconfig.json;
// 2. the entry module (--entry, else package.json "main", else
//    src/plugin.js) with everything it imports, into a component of the
//    contract in this SDK's wit/: QuickJS (componentize-qjs, default) or
//    SpiderMonkey (componentize-js, bundled first with esbuild). The
//    engines are the project's devDependencies, not the SDK's. --opt-size
//    uses QuickJS's runtime built for size (about 1.2 MB instead of 1.7).

import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SDK = dirname(dirname(fileURLToPath(import.meta.url)));
const WIT = join(SDK, "wit");
const USAGE = "usage: stagehand-build [--engine quickjs|spidermonkey] [--opt-size] [--entry FILE] [--out DIR] [--dir DIR]";

try {
  await main(process.argv.slice(2));
} catch (e) {
  console.error(`stagehand-build: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}

async function main(argv) {
  const opts = parseArgs(argv);
  const project = resolve(opts.dir);
  const name = pluginName(join(project, "plugin.toml"));
  const started = performance.now();
  const engine =
    opts.engine === "quickjs"
      ? findBin(project, "componentize-qjs", "componentize-qjs")
      : findBin(project, "componentize-js", "@bytecodealliance/componentize-js");

  if (existsSync(join(project, "tsconfig.json"))) {
    run(findBin(project, "tsc", "typescript"), ["-p", join(project, "tsconfig.json")], project);
  }
  const entry = resolve(project, opts.entry ?? packageMain(project) ?? "src/plugin.js");
  if (!existsSync(entry)) throw new Error(`the entry module ${relative(project, entry)} does not exist (set "main" in package.json, or pass --entry)`);

  const folder = join(resolve(project, opts.out), name);
  mkdirSync(folder, { recursive: true });
  for (const f of readdirSync(folder)) if (f.endsWith(".wasm")) rmSync(join(folder, f));
  const wasm = join(folder, `${name}.wasm`);

  if (opts.engine === "quickjs") {
    // Imports are read while the component is pre-initialized, from under
    // the module root only: it must also hold linked packages (file: deps).
    const root = moduleRoot(project);
    const args = ["--wit", WIT, "--js", entry, "--module-root", root, "--sync", "--stub-wasi", "-o", wasm];
    if (opts.optSize) args.push("--opt-size");
    run(engine, args, project);
  } else {
    const staging = mkdtempSync(join(tmpdir(), "stagehand-build-"));
    try {
      const bundle = join(staging, "plugin.js");
      await bundleWithEsbuild(project, entry, bundle);
      run(
        engine,
        [bundle, "-w", WIT, "-n", "plugin", "-d", "stdio", "random", "clocks", "http", "fetch-event", "-o", wasm],
        project,
      );
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  copyFileSync(join(project, "plugin.toml"), join(folder, "plugin.toml"));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `built ${relative(process.cwd(), folder) || "."}${sep} (${name}.wasm: ${statSync(wasm).size} bytes, ${opts.engine}, ${seconds} s)`,
  );
  console.log(`install: copy that folder into Stagehand's plugins directory; check: stagehand plugin check ${relative(process.cwd(), folder)}`);
}

function parseArgs(argv) {
  const opts = { engine: "quickjs", optSize: false, entry: undefined, out: "dist", dir: "." };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} wants a value\n${USAGE}`);
      return v;
    };
    switch (arg) {
      case "--engine": {
        const e = value();
        if (["quickjs", "qjs"].includes(e)) opts.engine = "quickjs";
        else if (["spidermonkey", "sm"].includes(e)) opts.engine = "spidermonkey";
        else throw new Error(`unknown engine ${e}: quickjs or spidermonkey`);
        break;
      }
      case "--opt-size":
        opts.optSize = true;
        break;
      case "--entry":
        opts.entry = value();
        break;
      case "--out":
        opts.out = value();
        break;
      case "--dir":
        opts.dir = value();
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (opts.optSize && opts.engine !== "quickjs") throw new Error("--opt-size is for the quickjs engine");
  return opts;
}

/** The plugin's name from plugin.toml (the top-level `name = "..."`). */
function pluginName(manifest) {
  if (!existsSync(manifest)) throw new Error("no plugin.toml here (run it in the plugin's folder, or pass --dir)");
  for (const line of readFileSync(manifest, "utf8").split(/\r?\n/)) {
    if (/^\s*\[/.test(line)) break;
    const m = line.match(/^\s*name\s*=\s*"([^"]*)"\s*(#.*)?$/);
    if (m) {
      if (!/^[a-z0-9-]{1,64}$/.test(m[1])) throw new Error(`plugin.toml: name ${JSON.stringify(m[1])} must be 1 to 64 of a-z, 0-9 and -`);
      return m[1];
    }
  }
  throw new Error('plugin.toml has no top-level name = "..."');
}

function packageMain(project) {
  const path = join(project, "package.json");
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")).main;
}

/** node_modules/.bin/<bin> of the project (or a folder above it). */
function findBin(project, bin, pkg) {
  for (let dir = project; ; dir = dirname(dir)) {
    const path = join(dir, "node_modules", ".bin", process.platform === "win32" ? `${bin}.cmd` : bin);
    if (existsSync(path)) return path;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`${bin} is not installed: add it to the project (npm install --save-dev --save-exact ${pkg}), then npm install`);
}

/** The project folder, or the folder holding it and every linked package it depends on. */
function moduleRoot(project) {
  let root = realpathSync(project);
  const modules = join(project, "node_modules");
  if (!existsSync(modules)) return root;
  const entries = readdirSync(modules).flatMap((n) =>
    n.startsWith("@") ? readdirSync(join(modules, n)).map((m) => join(modules, n, m)) : [join(modules, n)],
  );
  for (const path of entries) {
    if (!lstatSync(path).isSymbolicLink()) continue;
    const target = realpathSync(path);
    while (target !== root && !target.startsWith(root + sep)) root = dirname(root);
  }
  return root;
}

async function bundleWithEsbuild(project, entry, out) {
  const require = createRequire(join(project, "package.json"));
  let esbuild;
  try {
    esbuild = await import(pathToFileURL(require.resolve("esbuild")).href);
  } catch {
    throw new Error("the spidermonkey engine bundles with esbuild: npm install --save-dev --save-exact esbuild");
  }
  await esbuild.build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["stagehand:*"],
    logLevel: "warning",
  });
}

function run(bin, args, cwd) {
  const result = spawnSync(bin, args, { cwd, stdio: "inherit", shell: process.platform === "win32" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${bin.split(sep).pop()} failed (exit ${result.status})`);
}
