/// <reference path="./interfaces/stagehand-plugin-handler.d.ts" />
/// <reference path="./interfaces/stagehand-plugin-host.d.ts" />
/// <reference path="./interfaces/stagehand-plugin-types.d.ts" />
declare module 'stagehand:plugin/plugin@0.3.0' {
  export type * as StagehandPluginHost030 from 'stagehand:plugin/host@0.3.0'; // import stagehand:plugin/host@0.3.0
  export type * as StagehandPluginTypes030 from 'stagehand:plugin/types@0.3.0'; // import stagehand:plugin/types@0.3.0
  export * as handler from 'stagehand:plugin/handler@0.3.0'; // export stagehand:plugin/handler@0.3.0
}
