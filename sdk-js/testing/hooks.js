// Module resolution hooks (Node's `module.register`) for tests: the host
// interface a plugin imports, stagehand:plugin/host@0.3.0, resolves to the
// fake host next to this file.

const HOST = /^stagehand:plugin\/host@0\.3\.\d+$/;
const FAKE = new URL("./fake-host.js", import.meta.url).href;

/** Sends the host import to the fake; everything else resolves as usual. */
export async function resolve(specifier, context, nextResolve) {
  if (HOST.test(specifier)) return { url: FAKE, shortCircuit: true };
  return nextResolve(specifier, context);
}

/** Loads the fake host as the ES module it is; everything else as usual. */
export async function load(url, context, nextLoad) {
  if (url === FAKE) return { ...(await nextLoad(url, { ...context, format: "module" })), shortCircuit: true };
  return nextLoad(url, context);
}
