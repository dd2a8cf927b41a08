/// <reference path="./interfaces/stagehand-plugin-handler.d.ts" />
/// <reference path="./interfaces/stagehand-plugin-host.d.ts" />
/// <reference path="./interfaces/stagehand-plugin-types.d.ts" />
declare module 'stagehand:plugin/plugin@0.2.0' {
  export type * as StagehandPluginHost020 from 'stagehand:plugin/host@0.2.0'; // import stagehand:plugin/host@0.2.0
  export type * as StagehandPluginTypes020 from 'stagehand:plugin/types@0.2.0'; // import stagehand:plugin/types@0.2.0
  export * as handler from 'stagehand:plugin/handler@0.2.0'; // export stagehand:plugin/handler@0.2.0
}
