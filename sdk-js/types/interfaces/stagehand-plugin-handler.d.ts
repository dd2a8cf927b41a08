/// <reference path="./stagehand-plugin-types.d.ts" />
declare module 'stagehand:plugin/handler@0.3.0' {
  /**
   * Who the plugin is and what it wants.
   */
  export function describe(): Info;
  /**
   * Called once per instance before any event, with the settings JSON.
   * An error keeps the plugin from starting, with that message.
   */
  export function configure(settings: string): void;
  /**
   * Formatter role: the dashboard display of an event, if this plugin formats it.
   */
  export function format(e: Event): Display | undefined;
  /**
   * Actions role: what to do about an event.
   */
  export function onEvent(e: Event): Array<Action>;
  /**
   * Renderer role: restyle an alert before it is shown (none: leave it).
   */
  export function render(a: Alert): Alert | undefined;
  export type Event = import('stagehand:plugin/types@0.3.0').Event;
  export type Display = import('stagehand:plugin/types@0.3.0').Display;
  export type Alert = import('stagehand:plugin/types@0.3.0').Alert;
  export type Action = import('stagehand:plugin/types@0.3.0').Action;
  export type Info = import('stagehand:plugin/types@0.3.0').Info;
}
