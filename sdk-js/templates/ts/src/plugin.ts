// {{name}}: a Stagehand plugin. Start here: it shows an alert for every
// new follower. The guide is stagehand-plugin-sdk/README.md.

import { exportPlugin, kinds, showAlert, who, type Action, type Event, type Settings } from "@stagehand/plugin-sdk";

export class FollowAlert {
  /** Follows seen since the plugin started (fields keep state between events). */
  followers = 0;
  title: string;

  /** Built once per instance with the plugin's settings; throw to refuse them. */
  constructor(settings: Settings) {
    this.title = settings.strOr("title", "New follower!");
  }

  /** Actions role: what to do about an event. */
  onEvent(event: Event): Action[] {
    if (event.data.tag !== "follow") return [];
    this.followers += 1;
    const name = who(event);
    return [showAlert(this.title, `${name} just followed`, { tts: `Thanks for the follow, ${name}!` })];
  }
}

/** The component's export: the kinds it wants, the roles its methods play. */
export const handler = exportPlugin(FollowAlert, { kinds: [kinds.FOLLOW] });
