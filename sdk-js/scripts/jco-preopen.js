// Preloaded (`node --import`) into jco: jco 1.35 runs its WIT reader as a
// WebAssembly component on @bytecodealliance/preview2-shim 0.26, which
// gives a guest no filesystem until told to, so `jco guest-types` cannot
// read the WIT without this. Exposes the host's root directory to it.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

// The shim jco-transpile itself imports, so both share its preopens.
const dev = createRequire(new URL("../dev/package.json", import.meta.url));
const fromJco = createRequire(createRequire(dev.resolve("@bytecodealliance/jco")).resolve("@bytecodealliance/jco-transpile"));
const shim = await import(pathToFileURL(fromJco.resolve("@bytecodealliance/preview2-shim/filesystem")).href);
shim._setPreopens({ "/": "/" });
