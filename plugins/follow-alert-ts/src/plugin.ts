// The smallest useful plugin: "New follower!" on the default overlay for
// every follow, counting this session's followers. The TypeScript twin of
// plugins/follow-alert.

import { exportPlugin, kinds, showAlert, who, type Action, type Event, type Settings } from "@stagehand/plugin-sdk";

export class FollowAlert {
  /**
   * Follows seen since the plugin started (lost on reload: a count that
   * must last would live in `kv`).
   */
  followers = 0;

  constructor(_settings: Settings) {}

  /** Actions role: one alert per follow, naming the follower. */
  onEvent(event: Event): Action[] {
    if (event.data.tag !== "follow") return [];
    this.followers += 1;
    const name = who(event);
    return [showAlert("New follower!", `${name} just followed`, { tts: `Thanks for the follow, ${name}!` })];
  }
}

/** The component's export: only follows are asked for. */
export const handler = exportPlugin(FollowAlert, { kinds: [kinds.FOLLOW] });
