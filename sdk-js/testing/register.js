// `node --import @stagehand/plugin-sdk/testing/register --test`: installs
// the hooks that give a plugin under test the fake host (testing/hooks.js).

import { register } from "node:module";

register("./hooks.js", import.meta.url);
