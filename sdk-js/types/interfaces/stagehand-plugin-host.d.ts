/// <reference path="./stagehand-plugin-types.d.ts" />
declare module 'stagehand:plugin/host@0.3.0' {
  /**
   * Writes a line to the host's log, tagged with the plugin's name.
   */
  export function log(level: Level, message: string): void;
  /**
   * Reads this plugin's stored value for `key` (persisted; survives
   * reloads and restarts).
   */
  export function kvGet(key: string): string | undefined;
  /**
   * Stores a value for `key`.
   */
  export function kvSet(key: string, value: string): void;
  /**
   * Removes `key`.
   */
  export function kvDelete(key: string): void;
  /**
   * Applies several changes in order, all or none, in one call (the SDKs
   * batch a call's writes this way: every host call has a cost).
   */
  export function kvWrite(changes: Array<KvChange>): void;
  /**
   * The current time, ms since the Unix epoch (UTC).
   */
  export function nowMs(): bigint;
  /**
   * The plugin's settings, as a JSON object.
   */
  export function settings(): string;
  export type Level = import('stagehand:plugin/types@0.3.0').Level;
  export type KvChange = import('stagehand:plugin/types@0.3.0').KvChange;
}
